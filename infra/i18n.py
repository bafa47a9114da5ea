"""gettext for English and French, with the language of the current request held in a context variable.

Catalogues are read from locales/<lang>/LC_MESSAGES/messages.po at start-up and compiled in memory, so the
.po files are the one source and there is no build step to forget.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from infra.settings import PROJECT_ROOT

LOCALES_DIR = PROJECT_ROOT / "locales"
SUPPORTED_LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> stdlib_gettext.NullTranslations:
    po_file = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return stdlib_gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return stdlib_gettext.GNUTranslations(buffer)


def gettext(message: str, **variables: object) -> str:
    text = translations(current_language.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_language.get()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def N_(message: str) -> str:  # noqa: N802 - the conventional name extractors look for
    """Marks a message for extraction; it is translated later, where it is shown."""
    return message


def pick_language(requested: str | None, accept_language: str | None, offered: tuple[str, ...]) -> str:
    """The explicit choice if offered, else the browser's first offered preference, else the default."""
    if requested in offered:
        return requested
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in offered:
            return code
    return offered[0] if offered else DEFAULT_LANGUAGE


class use_language:  # noqa: N801 - reads as a statement: with use_language("fr"):
    """Renders mail and PDFs outside a web request in the citizen's language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE

    def __enter__(self) -> None:
        self._token = current_language.set(self.language)

    def __exit__(self, *exc: object) -> None:
        current_language.reset(self._token)
