"""The SLA clock and the reminders it drives, as pure functions of the request's timing facts.

The workflow owns the facts (when the clock last started, how much business time it has used, what has
already fired) and asks these functions what is due next; tests call them directly. Nothing here reads a
clock or does I/O, so the workflow stays deterministic.
"""

# No `from __future__ import annotations` here: the workflow sandbox cannot resolve string annotations
# of these dataclasses when it decodes a continued run's input.
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.calendar import BusinessCalendar, add_business_time, add_calendar_days, business_time_between
from infra.i18n import N_

DAY_SECONDS = 24 * 3600
ASSIGN_REMINDER = "assign_reminder"
ASSIGN_ESCALATION = "assign_escalation"
DUE_REMINDER = "due_reminder"
OVERDUE = "overdue"
OVERDUE_ESCALATION = "overdue_escalation"
CITIZEN_REMINDER = "citizen_reminder"
CITIZEN_AUTO_CLOSE = "citizen_auto_close"
TIMER_LABELS = {
    ASSIGN_REMINDER: N_("Reminder to assign"),
    ASSIGN_ESCALATION: N_("Escalation: not assigned"),
    DUE_REMINDER: N_("Reminder: due soon"),
    OVERDUE: N_("Overdue notice"),
    OVERDUE_ESCALATION: N_("Escalation: overdue"),
    CITIZEN_REMINDER: N_("Reminder to the citizen"),
    CITIZEN_AUTO_CLOSE: N_("Automatic closure"),
}


@dataclass
class ServiceLevel:
    """A request type's service level as it stood when the request was routed. Durations in seconds."""

    timezone: str = "UTC"
    hours: dict | None = None
    holidays: list[str] = field(default_factory=list)
    target_seconds: int | None = None
    target_business: bool = True
    assign_within: int | None = None
    escalate_after: int | None = None
    remind_before: int | None = None
    overdue_escalate: int | None = None
    citizen_remind: int | None = None
    citizen_close: int | None = None
    reopen_window: int = 14 * 24 * 3600

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_settings(self.timezone, self.hours, self.holidays)


@dataclass
class Clock:
    """Timing facts of one request. The SLA clock runs while `running_since` is set."""

    running_since: datetime | None = None
    consumed_seconds: float = 0.0
    unassigned_since: datetime | None = None
    waiting_since: datetime | None = None
    fired: list[str] = field(default_factory=list)


def _after(level: ServiceLevel, start: datetime, seconds: float, business: bool = True) -> datetime:
    if business:
        return add_business_time(start, timedelta(seconds=seconds), level.calendar())
    if seconds and seconds % DAY_SECONDS == 0:
        # "30 days" ends at the same local time of day, whatever the clocks did in between.
        return add_calendar_days(start, int(seconds // DAY_SECONDS), level.calendar())
    return start + timedelta(seconds=seconds)


def due_at(level: ServiceLevel, clock: Clock) -> datetime | None:
    """When the target is met if the clock keeps running; None without a target or while paused."""
    if level.target_seconds is None or clock.running_since is None:
        return None
    remaining = max(level.target_seconds - clock.consumed_seconds, 0)
    return _after(level, clock.running_since, remaining, level.target_business)


def pause(level: ServiceLevel, clock: Clock, now: datetime) -> None:
    """Stops the clock (on hold, waiting on the citizen, resolved), banking the time used so far."""
    if clock.running_since is None:
        return
    if level.target_business:
        used = business_time_between(clock.running_since, now, level.calendar()).total_seconds()
    else:
        used = max((now - clock.running_since).total_seconds(), 0)
    clock.consumed_seconds += used
    clock.running_since = None


def resume(clock: Clock, now: datetime) -> None:
    if clock.running_since is None:
        clock.running_since = now


def restart(clock: Clock, now: datetime) -> None:
    """A reopened request gets a fresh clock; the reminders may fire again."""
    clock.running_since, clock.consumed_seconds, clock.fired = now, 0.0, []


def deadlines(level: ServiceLevel, clock: Clock, assigned: bool, waiting: bool) -> dict[str, datetime]:
    """Every reminder or escalation still to fire, with when it is due."""
    found: dict[str, datetime] = {}
    if not assigned and clock.unassigned_since is not None and level.assign_within:
        found[ASSIGN_REMINDER] = _after(level, clock.unassigned_since, level.assign_within)
        if level.escalate_after:
            found[ASSIGN_ESCALATION] = _after(
                level, clock.unassigned_since, level.assign_within + level.escalate_after
            )
    due = due_at(level, clock)
    if due is not None:
        found[OVERDUE] = due
        remaining = (level.target_seconds or 0) - clock.consumed_seconds
        if assigned and clock.running_since and level.remind_before and remaining > level.remind_before:
            found[DUE_REMINDER] = _after(
                level, clock.running_since, remaining - level.remind_before, level.target_business
            )
        if level.overdue_escalate:
            found[OVERDUE_ESCALATION] = _after(level, due, level.overdue_escalate, level.target_business)
    if waiting and clock.waiting_since is not None:
        if level.citizen_remind:
            found[CITIZEN_REMINDER] = _after(level, clock.waiting_since, level.citizen_remind, business=False)
        if level.citizen_close:
            found[CITIZEN_AUTO_CLOSE] = _after(
                level, clock.waiting_since, level.citizen_close, business=False
            )
    return {key: when for key, when in found.items() if key not in clock.fired}
