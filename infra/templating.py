"""Jinja2 set-up shared by the web pages and the worker's documents (mail, PDF receipts)."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Literal, cast
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import DateTimePattern, get_date_format, get_datetime_format, get_time_format, parse_pattern
from jinja2 import Environment, FileSystemLoader, select_autoescape

from infra import i18n


def localtime(value: datetime | str | None, timezone: str = "UTC", fmt: str = "medium") -> str:
    """A timestamp in the tenant's time zone, written the way the reader's language writes dates."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    locale, pattern = _pattern(i18n.current_language.get(), fmt)
    return pattern.apply(value.astimezone(zone), locale)


@functools.lru_cache(maxsize=64)
def _pattern(language: str, fmt: str) -> tuple[Locale, DateTimePattern]:
    """What babel's format_datetime works out at every call (a queue page has fifty dates), once per
    language and format: the locale's date and time patterns inside its pattern that joins them."""
    locale = Locale.parse(language)
    if fmt in ("full", "long", "medium", "short"):
        name = cast(Literal["full", "long", "medium", "short"], fmt)
        joined = str(get_datetime_format(name, locale=locale))
        time_pattern = get_time_format(name, locale=locale).pattern
        fmt = joined.replace("{0}", time_pattern).replace("{1}", get_date_format(name, locale=locale).pattern)
    return locale, parse_pattern(fmt)


def audit_value(value: object) -> str:
    """A value recorded in the audit log, as a reader reads it: lists and mappings on one line."""
    if value is None:
        return i18n.gettext("none")
    if isinstance(value, bool):
        return i18n.gettext("yes") if value else i18n.gettext("no")
    if isinstance(value, list):
        return ", ".join(map(str, value)) or i18n.gettext("none")
    if isinstance(value, dict):
        return "; ".join(f"{key} = {item}" for key, item in value.items()) or i18n.gettext("none")
    return str(value) if value != "" else i18n.gettext("(empty)")


def install(env: Environment) -> Environment:
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = localtime
    env.filters["audit_value"] = audit_value
    env.globals["current_language"] = i18n.current_language.get
    return env


def document_environment(directory: Path) -> Environment:
    return install(
        Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html"], default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )
