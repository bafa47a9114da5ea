"""A town's business calendar as its administrators set it: time zone, weekly opening hours, holidays
(one at a time, or a year's list from an iCalendar file). The rules are domain.calendar's; this module
reads forms into them, stores the result on the town, and records each change in the audit log.

A request keeps the calendar it was routed under (routing copies it into the workflow), so a change
applies to requests routed after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from domain import audit
from domain.audit import Actor
from domain.calendar import DAY_NAMES, DEFAULT_HOURS, BusinessCalendar
from domain.scope import TenantScope
from infra.i18n import N_
from tenants.tables import Tenant

BAD_HOURS = N_(
    "Write opening hours like 08:30-12:00, 13:00-16:30: each ends after it starts, none overlaps the next. "
    "Leave it empty for a closed day."
)
NEVER_OPEN = N_("Open at least one day: on a calendar with no opening hours a service level never runs.")
BAD_ZONE = N_("Enter a time zone such as America/Toronto.")
BAD_DATE = N_("Enter a date like 2026-12-25.")
ALREADY_HOLIDAY = N_("This day is already a holiday.")
BAD_FILE = N_(
    "This is not an iCalendar file (.ics) with all-day events. Export the holidays from your calendar."
)
NO_DAYS = N_("The file holds no all-day events to take as holidays.")
MAX_IMPORT = 400  # more days than a year's holidays is not a holiday list


@dataclass(frozen=True)
class TownCalendar:
    timezone: str
    hours: dict[str, str]  # day name -> "08:30-12:00, 13:00-16:30" ("" when closed)
    holidays: list[str]  # ISO dates, in order


async def _row(scope: TenantScope) -> dict:
    row = (
        await Tenant.select(Tenant.timezone, Tenant.business_calendar)
        .where(Tenant.id == scope.tenant_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise LookupError(f"tenant {scope.tenant_id} no longer exists")
    return row


async def current(scope: TenantScope) -> TownCalendar:
    return _calendar_of(await _row(scope))


def _calendar_of(row: dict) -> TownCalendar:
    stored = row["business_calendar"] or {}
    hours = stored.get("hours", DEFAULT_HOURS)
    return TownCalendar(
        timezone=row["timezone"],
        hours={name: ", ".join(hours.get(name, [])) for name in DAY_NAMES},
        holidays=sorted(stored.get("holidays", [])),
    )


def parse_hours(timezone: str, typed: dict[str, str]) -> tuple[BusinessCalendar | None, dict[str, str]]:
    """The week as typed (a field per day) -> the calendar, or the errors by field."""
    errors: dict[str, str] = {}
    week: dict[str, list[str]] = {}
    for name in DAY_NAMES:
        intervals = [part.strip() for part in typed.get(name, "").split(",") if part.strip()]
        if intervals:
            try:
                BusinessCalendar.from_settings("UTC", {name: intervals})
            except ValueError:
                errors[name] = BAD_HOURS
        week[name] = intervals
    try:
        BusinessCalendar.from_settings(timezone, {"mon": ["00:00-24:00"]})
    except ValueError:
        errors["timezone"] = BAD_ZONE
    if errors:
        return None, errors
    if not any(week.values()):
        return None, {"mon": NEVER_OPEN}
    return BusinessCalendar.from_settings(timezone, {name: days for name, days in week.items() if days}), {}


async def _store(scope: TenantScope, timezone: str, settings: dict) -> None:
    values: dict[Any, Any] = {Tenant.timezone: timezone, Tenant.business_calendar: settings}
    await Tenant.update(values).where(Tenant.id == scope.tenant_id)


async def save_hours(scope: TenantScope, actor: Actor, calendar: BusinessCalendar) -> None:
    row = await _row(scope)
    settings = {**(row["business_calendar"] or {}), "hours": calendar.to_settings()["hours"]}
    await _store(scope, calendar.timezone, settings)
    before = _calendar_of(row)
    after = _calendar_of({"timezone": calendar.timezone, "business_calendar": settings})
    changed_before, changed_after = audit.changed(
        {"timezone": before.timezone, **before.hours}, {"timezone": after.timezone, **after.hours}
    )
    if changed_before or changed_after:
        await audit.record(scope, actor, "calendar.hours", "", changed_before, changed_after)


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def days_in_ical(content: bytes) -> list[date] | None:
    """The days of the file's all-day events (an event over several days gives each); None if it is not
    an iCalendar file. Timed events (a meeting) are not holidays and are left out."""
    import icalendar  # here, not at import: 80 ms at every web process's start, for one form

    try:
        parsed = icalendar.Calendar.from_ical(content)
    except (ValueError, IndexError, KeyError):
        return None
    if not isinstance(parsed, icalendar.Calendar):
        return None
    days: set[date] = set()
    for event in parsed.walk("VEVENT"):
        start = event.get("DTSTART")
        first = start.dt if start is not None else None
        if not isinstance(first, date) or hasattr(first, "hour"):
            continue
        end = event.get("DTEND")
        last = end.dt - timedelta(days=1) if end is not None and not hasattr(end.dt, "hour") else first
        day = first
        while day <= max(first, last) and len(days) <= MAX_IMPORT:
            days.add(day)
            day += timedelta(days=1)
    return sorted(days)


async def add_holidays(scope: TenantScope, actor: Actor, days: list[date], source: str) -> int:
    """Adds the days not already holidays; returns how many were new."""
    row = await _row(scope)
    stored = row["business_calendar"] or {}
    known = set(stored.get("holidays", []))
    new = sorted({day.isoformat() for day in days} - known)
    if not new:
        return 0
    await _store(scope, row["timezone"], {**stored, "holidays": sorted(known | set(new))})
    await audit.record(scope, actor, "calendar.holidays_added", source, after={"holidays": new})
    return len(new)


async def remove_holiday(scope: TenantScope, actor: Actor, day: str) -> bool:
    row = await _row(scope)
    stored = row["business_calendar"] or {}
    known = list(stored.get("holidays", []))
    if day not in known:
        return False
    await _store(scope, row["timezone"], {**stored, "holidays": [other for other in known if other != day]})
    await audit.record(scope, actor, "calendar.holiday_removed", day, before={"holidays": [day]})
    return True
