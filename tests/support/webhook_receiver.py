"""A maintenance system's webhook endpoint, as its own process on loopback: it verifies each delivery's
Standard Webhooks signature and keeps those it accepted, one JSON line each, in a file.

`POST /fail?times=N` makes it answer the next N deliveries with 500, as a receiver that is down would.
Run: `python -m tests.support.webhook_receiver SECRET LOG_FILE`; it prints its port on the first line.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def serve(secret: str, log_path: str) -> None:
    verifier = Webhook(secret)
    lock = threading.Lock()
    failing = {"left": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            parts = urlsplit(self.path)
            if parts.path == "/fail":
                failing["left"] = int(parse_qs(parts.query)["times"][0])
                return self._answer(204, b"")
            with lock:
                if failing["left"] > 0:
                    failing["left"] -= 1
                    return self._answer(500, b"maintenance window")
            try:
                payload = verifier.verify(body, dict(self.headers.items()))
            except WebhookVerificationError as error:
                return self._answer(401, str(error).encode())
            line = {"id": self.headers["webhook-id"], "type": payload["type"], "data": payload["data"]}
            with lock, open(log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(line) + "\n")
            self._answer(200, b"ok")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
