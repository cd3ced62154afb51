"""The API's documentation on the local gateway: the generated OpenAPI document and Swagger UI,
served unsigned from the installed package's files, with nothing loaded from anywhere else."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from local_stack.api_docs import DOCUMENT_PATH
from local_stack.stack import LocalStack


class _References(HTMLParser):
    """Every URL a page loads: script sources and link targets (stylesheets, icons)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        self.urls += [value for name, value in attrs if name == wanted and value]


def _page_references(stack: LocalStack) -> tuple[requests.Response, list[str]]:
    page = requests.get(stack.docs_url, timeout=30)
    parser = _References()
    parser.feed(page.text)
    return page, parser.urls


def test_the_page_loads_only_what_the_gateway_serves(stack: LocalStack) -> None:
    page, urls = _page_references(stack)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "Signature Version 4" in page.text  # says why "Try it out" is off
    assert any(url.endswith(".js") for url in urls)
    assert any(url.endswith(".css") for url in urls)
    gateway = urlsplit(stack.api_url).netloc
    for url in urls:
        assert not urlsplit(url).netloc, f"{url} is not on the gateway"
        asset = requests.get(urljoin(stack.docs_url, url), timeout=30)
        assert urlsplit(asset.url).netloc == gateway
        assert asset.status_code == 200, url
        assert asset.content
        if url.endswith(".js"):
            assert asset.headers["content-type"].startswith("text/javascript")
        if url.endswith(".css"):
            assert asset.headers["content-type"].startswith("text/css")
    initializer = next(url for url in urls if url.endswith("initializer.js"))
    script = requests.get(urljoin(stack.docs_url, initializer), timeout=30).text
    assert 'url: "/openapi.json"' in script
    assert "validatorUrl: null" in script  # Swagger UI's default validator is an online service


def test_the_document_is_the_generated_one(stack: LocalStack) -> None:
    reply = requests.get(f"{stack.api_url}/openapi.json", timeout=30)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.content == DOCUMENT_PATH.read_bytes()
    assert reply.json() == json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def test_the_api_itself_still_takes_signed_requests_only(stack: LocalStack) -> None:
    assert requests.get(f"{stack.api_url}/health", timeout=30).status_code == 403
    head = requests.head(stack.docs_url, timeout=30)
    assert head.status_code == 200
    assert head.content == b""
    assert requests.post(stack.docs_url, timeout=30).status_code == 404
    assert requests.get(f"{stack.docs_url}/index.j2", timeout=30).status_code == 404
    assert requests.get(f"{stack.docs_url}/%2e%2e/%2e%2e/template.yaml", timeout=30).status_code == 404


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_swagger_ui_renders_every_operation_in_a_browser(
    stack: LocalStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chromium = shutil.which("chromium")
    assert chromium is not None
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # as root
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--virtual-time-budget=15000",
        "--dump-dom",
        stack.docs_url,
    ]
    with caplog.at_level(logging.INFO, logger="local_stack.gateway"):
        browser = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert browser.returncode == 0, browser.stderr[-2000:]
    dom = browser.stdout
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    for path in document["paths"]:
        assert f'data-path="{path}"' in dom, f"Swagger UI did not render {path}"
    assert "try-out__btn" not in dom
    assert "Refused to" not in browser.stderr  # nothing the page's policy had to stop
    requested = [
        json.loads(record.getMessage()) for record in caplog.records if record.name == "local_stack.gateway"
    ]
    assert requested, "the browser asked the gateway for nothing"
    assert {(entry["path"], entry["status"]) for entry in requested} <= {
        ("/docs", 200),
        ("/openapi.json", 200),
        *((f"/docs/{name}", 200) for name in ("swagger-ui.css", "swagger-ui-bundle.js")),
        *((f"/docs/{name}", 200) for name in ("swagger-initializer.js", "favicon-32x32.png")),
        ("/docs/favicon-16x16.png", 200),
        ("/favicon.ico", 404),
    }
