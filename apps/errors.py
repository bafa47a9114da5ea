"""Errors as pages a citizen can read: never a stack trace, always a way back."""

from __future__ import annotations

import logging
from html import escape

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from apps.admin.auth import LoginRequired
from apps.api import API_PREFIXES
from apps.api import formats as open311_formats
from apps.pages import page
from apps.portal.account import SignInRequired
from infra import oidc
from infra.database import UNAVAILABLE
from infra.i18n import gettext
from infra.storage import StorageUnavailable

log = logging.getLogger(__name__)
OPEN311_PREFIX = "/open311/"


def _wants_json(request: Request) -> bool:
    if request.scope.get("path", "").startswith(API_PREFIXES):
        return True
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
        "accept", ""
    )


def _error(
    request: Request,
    status_code: int,
    title: str,
    message: str,
    headers: dict | None = None,
    extra: object = None,
) -> Response:
    if _wants_json(request):
        detail: dict = {"status_code": status_code, "detail": title, "message": message}
        if extra:  # which fields of a JSON body were wrong, as the framework found them
            detail["extra"] = extra
        return Response(detail, status_code=status_code, headers=headers)
    if getattr(request.state, "tenant", None) is None:
        # No town to dress the page in (an unknown address, or the database that names towns is down).
        body = f"<!doctype html><html><meta charset=utf-8><title>{escape(title)}</title>"
        body += f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
        return Response(body, status_code=status_code, media_type=MediaType.HTML, headers=headers)
    return page(request, "error.html", status_code=status_code, headers=headers, title=title, message=message)


def login_required(request: Request, _: LoginRequired) -> Response:
    return Redirect("/admin/login", status_code=303)


def sign_in_required(request: Request, _: SignInRequired) -> Response:
    return Redirect("/account/sign-in", status_code=303)


def http_error(request: Request, error: HTTPException) -> Response:
    if request.scope.get("path", "").startswith(OPEN311_PREFIX):
        # Refused before any Open311 handler ran (a method or path the router does not know): its clients
        # parse the specification's error list, so they get that too.
        return open311_formats.http_error(request, error)
    if error.status_code == 404:
        return _error(
            request,
            404,
            gettext("Page not found"),
            gettext("There is nothing at this address. It may have moved, or the link may be incomplete."),
        )
    if "csrf" in str(error.detail).lower():
        return _error(
            request,
            403,
            gettext("Your form expired"),
            gettext("For your security the form timed out. Go back, reload the page and send it again."),
        )
    if isinstance(error, PermissionDeniedException | NotAuthorizedException):
        return _error(
            request,
            error.status_code,
            gettext("Not allowed"),
            gettext("Your account cannot do this. Ask your administrator if you need it."),
        )
    if error.status_code == 405:
        return _error(
            request, 405, gettext("Not allowed"), gettext("This address does not accept that action.")
        )
    return _error(
        request, error.status_code, gettext("Something is not right"), str(error.detail), extra=error.extra
    )


def database_unavailable(request: Request, error: Exception) -> Response:
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, error)
    return _error(
        request,
        503,
        gettext("Please try again in a minute"),
        gettext("We cannot record or show anything just now, and nothing you sent was changed."),
        headers={"Retry-After": "30"},
    )


def storage_unavailable(request: Request, error: StorageUnavailable) -> Response:
    log.warning("file storage unavailable on %s %s: %s", request.method, request.url.path, error)
    return _error(
        request,
        503,
        gettext("Please try again in a minute"),
        gettext("Photos and receipts cannot be shown just now. Nothing you sent was changed."),
        headers={"Retry-After": "30"},
    )


def sign_in_provider_failed(request: Request, error: oidc.OidcError) -> Response:
    """A town's sign-in provider that cannot be reached or is misconfigured: its problem, not a crash."""
    log.info("sign-in provider failed: %s", error)
    return _error(
        request,
        502,
        gettext("This sign-in service is not answering"),
        gettext("Try again in a few minutes, or go back and choose another way to sign in."),
    )


def server_error(request: Request, error: Exception) -> Response:
    # The path from the scope: building `request.url` may be what failed.
    log.exception("unhandled error on %s %s", request.method, request.scope.get("path"), exc_info=error)
    return _error(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        gettext("Sorry, something went wrong"),
        gettext("Nothing you entered was lost on our side. Please try again in a moment."),
    )


HANDLERS: ExceptionHandlersMap = {
    LoginRequired: login_required,
    SignInRequired: sign_in_required,
    HTTPException: http_error,
    oidc.OidcError: sign_in_provider_failed,
    StorageUnavailable: storage_unavailable,
    **dict.fromkeys(UNAVAILABLE, database_unavailable),
    Exception: server_error,
}
