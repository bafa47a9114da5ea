"""The PDF renderer draws only what the document embeds: a template value that names a remote or local file
must not make the worker fetch it (server-side request forgery, reading the worker's files). It runs in
processes of its own that load WeasyPrint and nothing of the portal, and one that dies is replaced."""

import base64
import io
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest
import qrcode
from pypdf import PdfReader

from infra.pdf import QR_BORDER, QR_BOX, READY, PdfRenderer, RenderFailed, qr_png_data_uri, render_pdf
from infra.settings import PROJECT_ROOT


def _png() -> bytes:
    buffer = io.BytesIO()
    qrcode.make("x", box_size=2, border=1).save(buffer, format="PNG")
    return buffer.getvalue()


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_receipts_draw_embedded_images_and_fetch_neither_remote_nor_local_urls(tmp_path):
    png = _png()
    fetched = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's hook name
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = tmp_path / "secret.png"
    local.write_bytes(png)
    embedded = "data:image/png;base64," + base64.b64encode(png).decode()
    try:
        remote = render_pdf(f'<p>Logo</p><img src="http://127.0.0.1:{server.server_port}/logo.png">')
        on_disk = render_pdf(f'<p>Logo</p><img src="{local.as_uri()}">')
        inline = render_pdf(f'<p>Logo</p><img src="{embedded}">')
    finally:
        server.shutdown()
        server.server_close()
    assert fetched == []
    assert _images(remote) == 0
    assert _images(on_disk) == 0
    assert _images(inline) == 1


def test_the_pdf_process_loads_what_rendering_needs_and_nothing_of_the_portal():
    started = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "infra.pdf"],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,  # no page to render: it warms up, says it is ready, and ends
        capture_output=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout == READY
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in started.stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "weasyprint" in imported
    portal = {
        "apps",
        "domain",
        "tenants",
        "workflows",
        "temporalio",
        "piccolo",
        "litestar",
        "asyncpg",
        "jinja2",
    }
    assert not imported & portal


async def test_pages_render_in_a_process_that_is_replaced_when_it_dies():
    renderer = PdfRenderer(processes=1)
    try:
        await renderer.start()
        (first,) = renderer.pids()
        assert (await renderer.render("<h1>Receipt</h1>")).startswith(b"%PDF")
        assert renderer.pids() == {first}  # the same warm process, page after page
        os.kill(first, signal.SIGKILL)
        with pytest.raises(RenderFailed, match="ended while rendering"):
            await renderer.render("<h1>Receipt</h1>")  # the activity fails and Temporal retries it
        assert (await renderer.render("<h1>Receipt</h1>")).startswith(b"%PDF")
        assert renderer.pids() and first not in renderer.pids()
    finally:
        await renderer.close()
    assert not renderer.pids()


async def test_the_pdf_process_stays_the_same_size_page_after_page():
    """WeasyPrint's default is a new font configuration per document, and each one stayed in memory: the
    process grew by 0.2-0.3 MB a page, 28 MB over these hundred."""
    renderer = PdfRenderer(processes=1)
    pages = [f"<h1>Receipt SPR-2026-{n:06d}</h1><p>Pothole at {n} Main St, fixed.</p>" for n in range(110)]
    try:
        await renderer.start()
        for html in pages[:10]:
            await renderer.render(html)
        (pid,) = renderer.pids()
        warm = psutil.Process(pid).memory_info().rss
        for html in pages[10:]:
            await renderer.render(html)
        assert renderer.pids() == {pid}
        grown = (psutil.Process(pid).memory_info().rss - warm) / 2**20
    finally:
        await renderer.close()
    assert grown < 6, f"the renderer grew by {grown:.1f} MB over 100 pages"


@pytest.mark.parametrize("url", ["https://springfield.example/status/abc", "https://x.example/" + "y" * 120])
def test_the_receipts_qr_code_is_qrcodes_own_picture_of_the_link(url):
    from PIL import Image, ImageChops

    code = qrcode.QRCode(box_size=QR_BOX, border=QR_BORDER, mask_pattern=0)
    code.add_data(url)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    expected = Image.open(buffer).convert("1")
    drawn = Image.open(io.BytesIO(base64.b64decode(qr_png_data_uri(url).split(",", 1)[1]))).convert("1")
    assert drawn.size == expected.size
    assert ImageChops.difference(drawn, expected).getbbox() is None
