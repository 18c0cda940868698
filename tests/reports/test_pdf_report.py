"""The pack as PDF: it prints (poppler renders its pages) and loads nothing from outside itself."""

from __future__ import annotations

import base64
import dataclasses
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pack_samples import SPEND, sample_pack, section
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from onpace.domain.review import SECTION_TITLES
from onpace.reports.pdf import InlineOnlyFetcher, RefusedResourceError, html_to_pdf, render_pdf

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class Recorder(ThreadingHTTPServer):
    """A loopback HTTP server that records every path asked of it and answers with a tiny PNG."""

    hits: list[str]


class RecordingHandler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG_1PX)))
        self.end_headers()
        self.wfile.write(PNG_1PX)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder(("127.0.0.1", 0), RecordingHandler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def url_of(server: Recorder, path: str) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}{path}"


def hostile_document(server: Recorder, local_file: Path) -> str:
    """Return HTML that names remote and local resources in every way WeasyPrint would load them."""
    return f"""<!doctype html><html><head>
<link rel="stylesheet" href="{url_of(server, "/sheet.css")}">
<style>
@import url("{url_of(server, "/import.css")}");
@font-face {{ font-family: far; src: url("{url_of(server, "/font.woff")}"); }}
body {{ background: url("{url_of(server, "/background.png")}"); font-family: far, sans-serif; }}
</style></head><body>
<p>Hello</p>
<img src="{url_of(server, "/image.png")}">
<img src="{local_file.as_uri()}">
<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><image href="{url_of(server, "/in-svg.png")}" width="20" height="20"/></svg>
</body></html>"""


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", " ", done.stdout)


def test_the_fetcher_refuses_a_loopback_http_url_without_connecting(recorder: Recorder) -> None:
    fetcher = InlineOnlyFetcher()
    with pytest.raises(RefusedResourceError, match="refused"):
        fetcher.fetch(url_of(recorder, "/direct.png"))
    with pytest.raises(RefusedResourceError):
        fetcher(url_of(recorder, "/called.png"))
    assert recorder.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/logo.png",
        "file:///etc/passwd",
        "FILE:///etc/hostname",
        "ftp://example.org/a.png",
        "//example.org/a.png",
        "relative/path.png",
        " http://example.org/a.png",
    ],
)
def test_the_fetcher_refuses_every_url_that_is_not_inline(url: str) -> None:
    with pytest.raises(RefusedResourceError):
        InlineOnlyFetcher().fetch(url)


def test_the_fetcher_serves_inline_data_urls() -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    response = InlineOnlyFetcher().fetch(url)
    try:
        assert response.read() == PNG_1PX
    finally:
        response.close()


def test_the_recorder_does_see_what_an_unguarded_renderer_fetches(recorder: Recorder, tmp_path: Path) -> None:
    # The control for the next test: the same document rendered with WeasyPrint's own fetcher
    # reaches the loopback server, so zero hits below means the guard held, not a dead server.
    local = tmp_path / "secret.png"
    local.write_bytes(PNG_1PX)
    HTML(string=hostile_document(recorder, local), url_fetcher=URLFetcher(timeout=5)).write_pdf()
    assert "/image.png" in recorder.hits


def test_a_document_naming_remote_and_local_resources_renders_without_loading_any(
    recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    local = tmp_path / "secret.png"
    local.write_bytes(PNG_1PX)
    pdf = html_to_pdf(hostile_document(recorder, local))
    assert pdf.startswith(b"%PDF")
    assert recorder.hits == []
    assert "refused" in caplog.text


def test_a_pack_whose_text_carries_an_image_tag_neither_fetches_it_nor_fails(
    recorder: Recorder, tmp_path: Path
) -> None:
    injected = f'<img src="{url_of(recorder, "/tracker.png")}"> <link rel="stylesheet" href="{url_of(recorder, "/x.css")}">'
    item = dataclasses.replace(SPEND, explanation=injected, title=f"Spend {injected}")
    pdf = render_pdf(sample_pack(sections=(section("new_breaches", item),)), base_url=url_of(recorder, ""))
    assert recorder.hits == []
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    assert '<img src="http://127.0.0.1' in text


def test_the_pdf_of_a_realistic_pack_renders_to_pages_with_its_headings_and_items(tmp_path: Path) -> None:
    pdf = render_pdf(sample_pack(), base_url="https://onpace.example")
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "review.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    assert all(page.stat().st_size > 2_000 for page in pages)
    text = pdf_text(path)
    for heading in (
        "Weekly review · Greenway Grocers",
        "What changed since 31 May 2026",
        *SECTION_TITLES.values(),
    ):
        assert heading in text, heading
    for title in (
        "Micro-fulfilment pilot spend (EUR)",
        "Online orders delivered",
        "Renegotiate the courier contract",
    ):
        assert title in text, title
    # The chart is vector text in the PDF, not a picture: its axis labels are there to read.
    assert "as of 07 Jun" in text
    assert f"page 1 of {len(pages)}" in text
