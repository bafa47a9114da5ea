"""A municipality's own web server on loopback: it answers each path with what the test puts in `pages`
(paths it does not know get 404), for embedding the portal and for proving a custom domain."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TownWebsite:
    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.hosts_seen: list[str] = []
        website = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                website.hosts_seen.append(self.headers.get("host", ""))
                body = website.pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not here").encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"
        self.origin = f"http://{self.address}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
