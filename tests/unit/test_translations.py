"""Every user-facing English string has a French translation, and the app serves it.

The messages are extracted afresh with babel.cfg (exactly what `pybabel extract` does), so a new string in a
template or a controller fails here until it is in locales/fr/LC_MESSAGES/messages.po (and any other
catalogue under locales/) and translated. How to fix a failure: docs/translations.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from infra import i18n

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCALES = PROJECT_ROOT / "locales"
CATALOGUES = sorted(LOCALES.glob("*/LC_MESSAGES/messages.po"))
LANGUAGES = [path.parts[-3] for path in CATALOGUES]
HOW_TO_FIX = (
    "run `pybabel extract -F babel.cfg -o locales/messages.pot .` and "
    "`pybabel update -i locales/messages.pot -d locales`, then translate (docs/translations.md)"
)

EXTRACT = ("extract", "-F", "babel.cfg")

# Anything that starts with % in a printf-style string: %(name)s, %s, %%, and a stray "50 %".
# Jinja's newstyle gettext always applies `%` to the translation, so a stray % breaks rendering.
FORMAT_TOKEN = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]|%")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "--quiet", *EXTRACT, "-o", str(pot), "."],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stdout}\n{result.stderr}"
    return _read(pot)


@pytest.fixture(scope="module", params=LANGUAGES)
def catalogue(request: pytest.FixtureRequest) -> Catalog:
    language = request.param
    return _read(LOCALES / language / "LC_MESSAGES" / "messages.po", locale=language)


def test_french_is_among_the_catalogues():
    assert "fr" in LANGUAGES


def _messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _where(message: Message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations) or "?"


def _translated(message: Message) -> bool:
    forms = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return bool(forms) and all(form and form.strip() for form in forms)


def test_extraction_finds_strings_from_python_templates_and_mails(extracted):
    ids = {message.id for message in _messages(extracted)}
    assert {
        "Report a problem or make a request",  # portal template
        "This request is already closed.",  # N_() in domain/lifecycle.py
        "Choose the type of request.",  # N_() in domain/intake.py
        "We received your request %(reference)s",  # i18n.gettext() with a variable, in a workflow
        "Hello %(name)s,",  # mail template (.txt)
        "Service request receipt",  # PDF receipt template
    } <= ids


def test_every_extracted_message_is_translated(extracted, catalogue):
    problems = []
    for message in _messages(extracted):
        translation = catalogue.get(message.id, message.context)
        if translation is None:
            problems.append(f"missing:      {message.id!r} ({_where(message)})")
        elif translation.fuzzy:
            problems.append(f"fuzzy:        {message.id!r} ({_where(message)})")
        elif not _translated(translation):
            problems.append(f"untranslated: {message.id!r} ({_where(message)})")
    report = "\n".join(problems)
    assert not problems, f"the {catalogue.locale} catalogue is incomplete; {HOW_TO_FIX}:\n{report}"


def test_catalogue_has_no_fuzzy_entries_or_header(catalogue):
    assert not catalogue.fuzzy, f"the header of the {catalogue.locale} catalogue is marked fuzzy"
    fuzzy = [message.id for message in _messages(catalogue) if message.fuzzy]
    assert not fuzzy, f"fuzzy entries in the {catalogue.locale} catalogue: {fuzzy}"


def _tokens(text: str) -> set[str]:
    return set(FORMAT_TOKEN.findall(text))


def test_translations_keep_the_same_placeholders(catalogue):
    problems = []
    for message in _messages(catalogue):
        if isinstance(message.id, (list, tuple)):
            expected = _tokens(message.id[0]) | _tokens(message.id[1])
            # A plural form may say "one" in words instead of %(num)d, but may not invent placeholders.
            required = {token for token in expected if not token.startswith("%(num)")}
            for form in message.string:
                found = _tokens(form)
                if form and not required <= found <= expected:
                    problems.append(f"{message.id!r} has {sorted(expected)}, {form!r} has {sorted(found)}")
        elif message.string and _tokens(message.string) != _tokens(message.id):
            problems.append(
                f"{message.id!r} has {sorted(_tokens(message.id))}, "
                f"{message.string!r} has {sorted(_tokens(message.string))}"
            )
    report = "\n".join(problems)
    assert not problems, f"placeholders differ between English and {catalogue.locale}:\n{report}"


def test_the_app_serves_french_and_english():
    reference = "MTL-2026-00042"
    with i18n.use_language("fr"):
        assert i18n.gettext("Request %(reference)s", reference=reference) == f"Demande {reference}"
        french_title = i18n.gettext("Report a problem or make a request")
        french_error = i18n.gettext("This request is already closed.")
    assert french_title == "Signaler un problème ou faire une demande"
    assert french_error != "This request is already closed."

    with i18n.use_language("en"):
        assert i18n.gettext("Request %(reference)s", reference=reference) == f"Request {reference}"
        assert i18n.gettext("Report a problem or make a request") == "Report a problem or make a request"
        assert i18n.gettext("This request is already closed.") == "This request is already closed."


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("fmt", ["short", "medium", "long", "full", "d MMMM y"])
def test_dates_read_as_babel_writes_them_in_each_language(language, fmt):
    """The date filter works babel's patterns out once per language and format: its answers must be
    babel's own, at every hour of a year that crosses both changes of daylight saving time."""
    from datetime import UTC, datetime, timedelta

    from babel.dates import format_datetime

    from infra import i18n
    from infra.templating import localtime

    start = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    with i18n.use_language(language):
        for hours in range(0, 365 * 24, 7):
            moment = start + timedelta(hours=hours)
            expected = format_datetime(
                moment.astimezone(ZoneInfo("America/Toronto")), format=fmt, locale=language
            )
            assert localtime(moment, "America/Toronto", fmt) == expected
