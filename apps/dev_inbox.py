"""Development only: the messages the local SMTP server received, readable in the browser at /dev/inbox."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from html import escape
from pathlib import Path

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from infra.settings import Settings

# The names infra/dev_smtp.py gives messages ("<time>-<hex>"); anything else names no message.
MESSAGE_NAME = re.compile(r"[0-9]{1,12}\.[0-9]{6}-[0-9a-f]{8}")
PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Development inbox</title>'
    '<link rel="stylesheet" href="/static/portal.css"></head>'
    '<body><main class="wrap" id="main">{body}</main></body></html>'
)


class DevInboxController(Controller):
    path = "/dev/inbox"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(self, settings: NamedDependency[Settings]) -> Response:
        rows = []
        for path in sorted(Path(settings.dev_inbox_dir).glob("*.eml"), reverse=True)[:200]:
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            rows.append(
                f"<tr><td><a href='/dev/inbox/{path.stem}'>{escape(str(message['subject']))}</a></td>"
                f"<td>{escape(str(message['to']))}</td><td>{escape(str(message['date'] or ''))}</td></tr>"
            )
        table = "<table class='queue'><thead><tr><th>Subject</th><th>To</th><th>Date</th></tr></thead><tbody>"
        body = f"<h1>Development inbox</h1>{table}{''.join(rows)}</tbody></table>"
        return Response(PAGE.format(body=body), media_type="text/html")

    @get("/{name:str}", sync_to_thread=True)
    def show(self, settings: NamedDependency[Settings], name: FromPath[str]) -> Response:
        path = Path(settings.dev_inbox_dir) / f"{name}.eml"
        if not MESSAGE_NAME.fullmatch(name) or not path.exists():
            raise NotFoundException()
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        text = message.get_body(preferencelist=("plain",))
        attachments = [part.get_filename() for part in message.iter_attachments()]
        body = (
            f"<p><a href='/dev/inbox'>Inbox</a></p><h1>{escape(str(message['subject']))}</h1>"
            f"<p>To: {escape(str(message['to']))}</p><pre>{escape(text.get_content() if text else '')}</pre>"
            f"<p>Attachments: {escape(', '.join(filter(None, attachments)) or 'none')}</p>"
        )
        return Response(PAGE.format(body=body), media_type="text/html")
