"""The documentation routes of the local gateway: which requests they take, and which they refuse
to take from the template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local_stack.api_docs import BUNDLED_ASSETS, ApiDocs
from local_stack.template import TemplateError
from local_stack.triggers.http import HttpRoute


@pytest.fixture(scope="module")
def docs() -> ApiDocs:
    return ApiDocs()


@pytest.mark.parametrize(
    "route",
    [
        HttpRoute("GET", "/docs"),
        HttpRoute("ANY", "/openapi.json"),
        HttpRoute("GET", "/docs/{name}"),
        HttpRoute("HEAD", "/{proxy+}"),
        HttpRoute("ANY", "/{proxy+}"),
    ],
)
def test_a_template_route_that_would_answer_a_documentation_path_is_refused(
    docs: ApiDocs, route: HttpRoute
) -> None:
    with pytest.raises(TemplateError, match=re.escape(route.route_key)):
        docs.check_routes([HttpRoute("GET", "/health"), route])


def test_the_template_routes_leave_the_documentation_paths_free(docs: ApiDocs) -> None:
    routes = [
        HttpRoute("GET", "/health"),
        HttpRoute("POST", "/generations"),
        HttpRoute("GET", "/generations/{generation_id}"),
        HttpRoute("POST", "/docs"),  # another method on the same path takes nothing from GET
        HttpRoute("ANY", "/documents/{proxy+}"),
    ]
    docs.check_routes(routes)


def test_only_the_listed_files_are_served(docs: ApiDocs) -> None:
    for name in BUNDLED_ASSETS:
        reply = docs.reply("GET", f"/docs/{name}")
        assert reply is not None
        assert reply.status == 200
        assert reply.body == (docs.assets_dir / name).read_bytes()
    for path in (
        "/docs/index.j2",
        "/docs/../template.yaml",
        "/docs/",
        "/docs/swagger-ui.css/x",
        "/swagger-ui.css",
    ):
        assert docs.reply("GET", path) is None, path
    assert docs.reply("POST", "/docs") is None
    assert docs.reply("DELETE", "/openapi.json") is None


def test_a_missing_document_is_a_clear_404(tmp_path: Path) -> None:
    reply = ApiDocs(document_path=tmp_path / "openapi.json").reply("GET", "/openapi.json")
    assert reply is not None
    assert reply.status == 404
    assert b"local_stack.openapi_doc" in reply.body


def test_a_swagger_ui_without_its_files_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("swagger-ui-bundle.js")):
        ApiDocs(assets_dir=tmp_path)
