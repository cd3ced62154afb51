"""The HTTP trigger: a function's `HttpApi` events become routes of the local gateway.

gateway.py serves the routes over HTTP; apigw.py turns requests into API Gateway events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local_stack.template import TemplateError


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or ANY
    path: str  # as declared, e.g. /generations/{id}

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def route_from_event(function_id: str, event_name: str, properties: Mapping[str, Any]) -> HttpRoute:
    """The route an HttpApi event declares."""
    if "Path" not in properties or "Method" not in properties:
        where = f"{function_id} event {event_name}"
        raise TemplateError(f"{where}: an HttpApi event needs Path and Method locally")
    return HttpRoute(method=str(properties["Method"]).upper(), path=str(properties["Path"]))
