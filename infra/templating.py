"""Jinja2 set-up shared by the web pages and the worker's documents (mail, PDF receipts)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
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
    return format_datetime(value.astimezone(zone), format=fmt, locale=i18n.current_language.get())


def install(env: Environment) -> Environment:
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = localtime
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
