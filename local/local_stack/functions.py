"""The template's Lambda functions as the local stack runs them: code, handler, settings, triggers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_stack.template import PROJECT_ROOT, Resolver, TemplateError, resources_of_type
from local_stack.triggers import Trigger, read_triggers
from local_stack.triggers.http import HttpRoute
from local_stack.triggers.queue import QueueSource
from local_stack.triggers.schedule import Schedule
from local_stack.triggers.stream import StreamSource


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # module.function, relative to code_dir
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, str]
    layer_dirs: tuple[Path, ...]
    triggers: tuple[Trigger, ...] = field(default=())
    # ReservedConcurrentExecutions: at most this many invocations at once, the rest throttled.
    reserved_concurrency: int | None = None

    @property
    def function_name(self) -> str:
        return self.logical_id

    @property
    def routes(self) -> tuple[HttpRoute, ...]:
        return tuple(trigger for trigger in self.triggers if isinstance(trigger, HttpRoute))

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        return tuple(trigger for trigger in self.triggers if isinstance(trigger, Schedule))

    @property
    def queue_sources(self) -> tuple[QueueSource, ...]:
        return tuple(trigger for trigger in self.triggers if isinstance(trigger, QueueSource))

    @property
    def stream_sources(self) -> tuple[StreamSource, ...]:
        return tuple(trigger for trigger in self.triggers if isinstance(trigger, StreamSource))


def _merged(globals_: Mapping[str, Any], properties: Mapping[str, Any], key: str, default: Any) -> Any:
    return properties.get(key, globals_.get(key, default))


def _reserved_concurrency(
    resolver: Resolver, globals_: Mapping[str, Any], properties: Mapping[str, Any]
) -> int | None:
    declared = _merged(globals_, properties, "ReservedConcurrentExecutions", None)
    # Resolved inside a mapping so that an AWS::NoValue (no reservation) drops out as it does in AWS.
    resolved = resolver.resolve({"value": declared}).get("value")
    return None if resolved is None else int(resolved)


def load_functions(resolver: Resolver, base_dir: Path = PROJECT_ROOT) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function of the template, with Globals applied and intrinsics resolved.

    CodeUri and ContentUri are relative to base_dir, the template's directory. Events' Properties
    are resolved too; an event the local stack cannot run raises TemplateError (see triggers/).
    """
    template = resolver.template
    globals_ = template.get("Globals", {}).get("Function", {})
    layers = resources_of_type(template, "AWS::Serverless::LayerVersion")
    specs = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = resource.get("Properties", {})
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        layer_refs = [*globals_.get("Layers", []), *properties.get("Layers", [])]
        layer_dirs = []
        for layer in layer_refs:
            layer_id = layer.get("Ref") if isinstance(layer, dict) else None
            if layer_id not in layers:
                raise TemplateError(f"{logical_id}: only layers defined in the template run locally")
            layer_dirs.append(base_dir / layers[layer_id]["Properties"]["ContentUri"])
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_dir=base_dir / properties["CodeUri"],
                handler=_merged(globals_, properties, "Handler", None),
                timeout_seconds=int(_merged(globals_, properties, "Timeout", 3)),
                memory_mb=int(_merged(globals_, properties, "MemorySize", 128)),
                environment={key: str(value) for key, value in resolver.resolve(environment).items()},
                layer_dirs=tuple(layer_dirs),
                triggers=read_triggers(logical_id, properties.get("Events", {}), resolver),
                reserved_concurrency=_reserved_concurrency(resolver, globals_, properties),
            )
        )
    return specs
