"""Errors as pages a citizen can read: never a stack trace, always a way back."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from apps.admin.auth import LoginRequired
from apps.pages import page
from apps.portal.account import SignInRequired
from infra.i18n import gettext

log = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
        "accept", ""
    )


def _error(request: Request, status_code: int, title: str, message: str) -> Response:
    if _wants_json(request) or getattr(request.state, "tenant", None) is None:
        return Response({"status_code": status_code, "detail": title}, status_code=status_code)
    return page(request, "error.html", status_code=status_code, title=title, message=message)


def login_required(request: Request, _: LoginRequired) -> Response:
    return Redirect("/admin/login", status_code=303)


def sign_in_required(request: Request, _: SignInRequired) -> Response:
    return Redirect("/account/sign-in", status_code=303)


def http_error(request: Request, error: HTTPException) -> Response:
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
    return _error(request, error.status_code, gettext("Something is not right"), str(error.detail))


def server_error(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
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
    Exception: server_error,
}
