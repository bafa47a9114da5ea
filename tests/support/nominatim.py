"""A geocoder on loopback that answers like Nominatim's `/search?format=jsonv2`: the places a test puts in
`places` whose name holds the words asked for, as JSON. It keeps each query it was asked, and answers
with `status` (200 unless a test changes it) and `body` instead when a test sets one."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeNominatim:
    def __init__(self) -> None:
        self.places: list[dict] = []  # {"display_name": ..., "lat": "45.5", "lon": "-73.5"}, as Nominatim's
        self.queries: list[dict[str, str]] = []
        self.status = 200
        self.body: bytes | None = None
        geocoder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                parts = urlsplit(self.path)
                query = {name: values[0] for name, values in parse_qs(parts.query).items()}
                geocoder.queries.append(
                    {"path": parts.path, "user-agent": self.headers["user-agent"], **query}
                )
                words = query.get("q", "").lower().split()
                found = [
                    place
                    for place in geocoder.places
                    if parts.path == "/search"
                    and all(word in place["display_name"].lower() for word in words)
                ]
                body = geocoder.body if geocoder.body is not None else json.dumps(found).encode()
                self.send_response(geocoder.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
