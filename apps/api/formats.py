"""Open311 answers as XML or JSON, the specification's error list included. The specification defines the
XML and derives the JSON from it by the Spark convention: the root element disappears and a list element's
children become an array. So one document (dicts and lists) renders both ways; XML names each item after
its list (`services` holds `service`s).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from xml.etree import ElementTree

import msgspec
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from infra.database import UNAVAILABLE
from infra.i18n import N_, gettext, use_language

log = logging.getLogger(__name__)

# As the specification writes them; Litestar adds the charset to text types itself.
MEDIA_TYPES = {"xml": "text/xml", "json": "application/json; charset=utf-8"}
# XML is the one format the specification requires of every server, so it answers when none is asked for.
DEFAULT = "xml"
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# What XML 1.0 cannot carry at all (control characters); text is cleaned of them on the way out.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

NOT_FOUND = N_("There is nothing at this address.")
BAD_FORMAT = N_("Ask for json or xml.")
NOT_VALID = N_("This value is not valid.")
FAILED = N_("This could not be done. If it happens again, tell the municipality.")
UNAVAILABLE_NOW = N_("This service is not available just now and nothing was changed. Try again in a minute.")

Problem = tuple[str, str]  # (the Open311 field it is about, or "" for the whole call; a msgid)


class Refused(Exception):
    """A call the specification answers with an error list; its descriptions are translated when shown."""

    def __init__(self, status_code: int, *problems: Problem, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, problems)
        self.status_code, self.problems, self.headers = status_code, problems, headers


def suffix(name: str) -> tuple[str, str | None]:
    """`pothole.json` -> (`pothole`, `json`); a name without a dot has no suffix."""
    stem, dot, extension = name.rpartition(".")
    return (stem, extension) if dot else (name, None)


def requested(request: Request) -> str | None:
    """The format the address asks for: its suffix, else the `format` parameter, else the default. None
    when the one given is neither json nor xml."""
    extension = suffix(request.url.path.rsplit("/", 1)[-1])[1]
    wanted = extension if extension is not None else request.query_params.get("format") or DEFAULT
    return wanted if wanted in MEDIA_TYPES else None


def output_format(request: Request) -> str:
    fmt = requested(request)
    if fmt is None:
        raise Refused(400, ("format", BAD_FORMAT))
    return fmt


def stem(name: str) -> str:
    """The id in `{id}.json`; a suffix that names no format is an address with nothing at it."""
    found, extension = suffix(name)
    if extension is not None and extension not in MEDIA_TYPES:
        raise Refused(404, ("", NOT_FOUND))
    return found


def language_of(request: Request) -> str:
    """The `locale` asked for when the town speaks it, else the town's first language: a program gets the
    same names however its HTTP library sets Accept-Language; English where no town answers."""
    tenant = request.state.get("tenant")  # none on a host that names no town: refused before it was found
    languages = tenant.languages if tenant else ("en",)
    wanted = request.query_params.get("locale", "")
    return wanted if wanted in languages else languages[0]


def render(
    root: str,
    document: list | dict,
    fmt: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> Response:
    content = msgspec.json.encode(document) if fmt == "json" else to_xml(root, document)
    return Response(
        content,
        status_code=status_code,
        media_type=MEDIA_TYPES[fmt],
        headers=headers,
        background=background,
    )


def to_xml(root: str, document: list | dict) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, document)
    body = ElementTree.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode()


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _fill(ElementTree.SubElement(element, name), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ElementTree.SubElement(element, ITEMS[element.tag]), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("", str(value))


def error_response(
    request: Request, status_code: int, problems: tuple[Problem, ...], headers: dict[str, str] | None = None
) -> Response:
    """The specification's error list, one error per problem, each naming its field."""
    with use_language(language_of(request)):
        errors = [
            {"code": status_code, "description": f"{field}: {gettext(msgid)}" if field else gettext(msgid)}
            for field, msgid in problems
        ]
    return render("errors", errors, requested(request) or DEFAULT, status_code, headers)


def _refused(request: Request, error: Refused) -> Response:
    return error_response(request, error.status_code, error.problems, error.headers)


def http_error(request: Request, error: HTTPException) -> Response:
    """Litestar's own refusals (a parameter it could not read, a form with control characters) in the
    specification's shape; the messages of client errors are already translated."""
    if isinstance(error, ValidationException):
        found = error.extra if isinstance(error.extra, list) else []
        keys = [item.get("key", "") for item in found if isinstance(item, dict)]
        return error_response(request, 400, tuple((key, NOT_VALID) for key in keys) or (("", NOT_VALID),))
    if error.status_code == 404:
        return error_response(request, 404, (("", NOT_FOUND),))
    if error.status_code >= 500:
        return _failed(request, error)
    return error_response(request, error.status_code, (("", str(error.detail)),))


def _unavailable(request: Request, error: Exception) -> Response:
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, error)
    return error_response(request, 503, (("", UNAVAILABLE_NOW),), {"Retry-After": "30"})


def _failed(request: Request, error: Exception) -> Response:
    """The specification's "general service error": 400, and the client is asked to tell the town."""
    log.exception("Open311 call failed: %s %s", request.method, request.scope.get("path"), exc_info=error)
    return error_response(request, 400, (("", FAILED),))


# For the Open311 controller: whatever goes wrong in its handlers answers in the specification's shape.
EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Refused: _refused,
    HTTPException: http_error,
    **dict.fromkeys(UNAVAILABLE, _unavailable),
    Exception: _failed,
}
