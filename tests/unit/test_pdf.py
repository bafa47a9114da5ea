"""The PDF renderer draws only what the document embeds: a template value that names a remote or local file
must not make the worker fetch it (server-side request forgery, reading the worker's files)."""

import base64
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import qrcode
from pypdf import PdfReader

from infra.pdf import render_pdf


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
