"""The API's documentation on the local gateway: GET /openapi.json and Swagger UI at GET /docs.

A local convenience only: these routes are served without authentication (the OpenAPI document
holds nothing secret) and the API deployed to AWS has none of them. Swagger UI comes from the
swagger-ui-bundle-v2 package; the page loads nothing but its own assets from this gateway (its
Content-Security-Policy says so to the browser), and "Try it out" is off, because every API
request must be SigV4-signed and a browser page cannot sign it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from local_stack import apigw
from local_stack.template import PROJECT_ROOT, TemplateError
from local_stack.triggers.http import HttpRoute

DOCUMENT_PATH = PROJECT_ROOT / "docs" / "openapi.json"  # written by `python -m local_stack.openapi_doc`
DOCUMENT_ROUTE = "/openapi.json"
PAGE_ROUTE = "/docs"
SERVED_METHODS = ("GET", "HEAD")
# The files of the Swagger UI distribution the page loads, served under /docs/.
BUNDLED_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
INITIALIZER = "swagger-initializer.js"
# Swagger UI sets inline styles and uses data: images; nothing else is allowed to load.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ideogram-assets API (local stack)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
  <style>
    body { margin: 0; background: #fafafa; }
    .local-note { max-width: 1420px; margin: 0 auto; padding: 12px 20px 0;
                  font-family: sans-serif; font-size: 14px; color: #3b4151; }
  </style>
</head>
<body>
  <div class="local-note" id="local-note">
    <p><strong>Local stack only.</strong> This page and <a href="/openapi.json">/openapi.json</a>
    are served by the local gateway without authentication; the API deployed to AWS serves neither.</p>
    <p>Every API request must be signed with AWS Signature Version 4 (IAM authorization), which a
    browser page cannot do, so &ldquo;Try it out&rdquo; is off here. Call the API with the command
    line (<code>ideogram-assets</code>) or with the signed <code>curl --aws-sigv4</code> examples
    that <code>make up</code> prints.</p>
  </div>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"""

# An external file rather than an inline script, so that the page's policy needs no 'unsafe-inline'.
INITIALIZER_SCRIPT = """\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Nothing leaves the page: no online validator, and no "Try it out" (requests must be signed).
    validatorUrl: null,
    supportedSubmitMethods: [],
  });
});
"""


def swagger_ui_directory() -> Path:
    """Where the installed Swagger UI distribution is (the package names its own versioned folder)."""
    bundle = importlib.import_module("swagger_ui_bundle")  # ships no type information
    return Path(str(bundle.swagger_ui_path))


def _reply(status: int, content_type: str, body: bytes, *extra: tuple[str, str]) -> apigw.HttpReply:
    headers = [
        ("content-type", content_type),
        ("cache-control", "no-cache"),
        ("x-content-type-options", "nosniff"),
        *extra,
    ]
    return apigw.HttpReply(status, headers, body)


@dataclass
class ApiDocs:
    """Answers the documentation routes; every other request is left to the template's routes."""

    document_path: Path = DOCUMENT_PATH
    assets_dir: Path = field(default_factory=swagger_ui_directory)

    def __post_init__(self) -> None:
        missing = [name for name in BUNDLED_ASSETS if not (self.assets_dir / name).is_file()]
        if missing:
            raise FileNotFoundError(f"Swagger UI in {self.assets_dir} lacks {', '.join(missing)}")

    @property
    def paths(self) -> list[str]:
        """Every path these routes answer."""
        files = [*BUNDLED_ASSETS, INITIALIZER]
        return [DOCUMENT_ROUTE, PAGE_ROUTE, *(f"{PAGE_ROUTE}/{name}" for name in files)]

    def check_routes(self, routes: Iterable[HttpRoute]) -> None:
        """Refuses a template whose routes would answer one of these paths: neither may hide the other."""
        routes = list(routes)
        for method in SERVED_METHODS:
            for path in self.paths:
                match = apigw.match_route(routes, method, path)
                if match is not None:
                    raise TemplateError(
                        f"route {match.route.route_key} of template.yaml takes {method} {path}, "
                        "which the local gateway serves as the API's documentation"
                    )

    def reply(self, method: str, path: str) -> apigw.HttpReply | None:
        """The reply to a documentation request; None for any other request."""
        if method not in SERVED_METHODS:
            return None
        if path == DOCUMENT_ROUTE:
            if not self.document_path.is_file():
                return apigw.error_reply(404, "Not Found: run `python -m local_stack.openapi_doc`")
            return _reply(200, "application/json", self.document_path.read_bytes())
        if path == PAGE_ROUTE:
            policy = ("content-security-policy", CONTENT_SECURITY_POLICY)
            return _reply(200, "text/html; charset=utf-8", PAGE.encode("utf-8"), policy)
        if not path.startswith(f"{PAGE_ROUTE}/"):
            return None
        name = path.removeprefix(f"{PAGE_ROUTE}/")
        if name == INITIALIZER:
            return _reply(200, "text/javascript; charset=utf-8", INITIALIZER_SCRIPT.encode("utf-8"))
        if name in BUNDLED_ASSETS:  # a fixed list: no path from the request reaches the file system
            return _reply(200, BUNDLED_ASSETS[name], (self.assets_dir / name).read_bytes())
        return None
