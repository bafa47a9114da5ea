"""Development only: the messages the local SMTP server received, readable in the browser at /dev/inbox."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.response import Response

from infra.settings import Settings

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Development inbox</title>
<link rel="stylesheet" href="/static/portal.css"></head><body><main class="wrap" id="main">{body}</main></body></html>"""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DevInboxController(Controller):
    path = "/dev/inbox"
    include_in_schema = False

    @get("/")
    async def index(self, settings: Settings) -> Response:
        rows = []
        for path in sorted(Path(settings.dev_inbox_dir).glob("*.eml"), reverse=True)[:200]:
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            rows.append(
                f"<tr><td><a href='/dev/inbox/{path.stem}'>{_escape(str(message['subject']))}</a></td>"
                f"<td>{_escape(str(message['to']))}</td><td>{_escape(str(message['date'] or ''))}</td></tr>"
            )
        table = "<table class='queue'><thead><tr><th>Subject</th><th>To</th><th>Date</th></tr></thead><tbody>"
        body = f"<h1>Development inbox</h1>{table}{''.join(rows)}</tbody></table>"
        return Response(PAGE.format(body=body), media_type="text/html")

    @get("/{name:str}")
    async def show(self, settings: Settings, name: str) -> Response:
        path = Path(settings.dev_inbox_dir) / f"{Path(name).name}.eml"
        if not path.exists():
            raise NotFoundException()
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        text = message.get_body(preferencelist=("plain",))
        attachments = [part.get_filename() for part in message.iter_attachments()]
        body = (
            f"<p><a href='/dev/inbox'>Inbox</a></p><h1>{_escape(str(message['subject']))}</h1>"
            f"<p>To: {_escape(str(message['to']))}</p><pre>{_escape(text.get_content() if text else '')}</pre>"
            f"<p>Attachments: {_escape(', '.join(filter(None, attachments)) or 'none')}</p>"
        )
        return Response(PAGE.format(body=body), media_type="text/html")
