"""The SLA clock as plain functions: pausing, resuming, what fires when."""

from datetime import UTC, datetime, timedelta

from domain import sla
from domain.sla import Clock, ServiceLevel

TORONTO_HOURS = {
    "mon": ["08:30-16:30"],
    "tue": ["08:30-16:30"],
    "wed": ["08:30-16:30"],
    "thu": ["08:30-16:30"],
    "fri": ["08:30-16:30"],
}
ALWAYS = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
START = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # Friday 16:00 in Toronto


def test_a_business_target_lands_on_the_next_business_day():
    level = ServiceLevel(timezone="America/Toronto", hours=TORONTO_HOURS, target_seconds=2 * 3600)
    due = sla.due_at(level, Clock(running_since=START))
    assert due == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 10:00 in Toronto


def test_a_calendar_target_of_whole_days_keeps_the_local_time_across_a_clock_change():
    level = ServiceLevel(timezone="America/Toronto", target_seconds=30 * 86400, target_business=False)
    start = datetime(2026, 10, 20, 14, 0, tzinfo=UTC)  # 10:00 EDT
    due = sla.due_at(level, Clock(running_since=start))
    assert due == datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # 10:00 EST, after the fall-back


def test_pausing_banks_the_time_used_and_resuming_moves_the_due_time_by_the_pause():
    level = ServiceLevel(hours=ALWAYS, target_seconds=100)
    clock = Clock(running_since=START)
    first_due = sla.due_at(level, clock)
    sla.pause(level, clock, START + timedelta(seconds=30))
    assert clock.consumed_seconds == 30 and sla.due_at(level, clock) is None
    sla.resume(clock, START + timedelta(seconds=90))
    assert sla.due_at(level, clock) == first_due + timedelta(seconds=60)


def test_business_time_is_what_a_pause_banks():
    level = ServiceLevel(timezone="America/Toronto", hours=TORONTO_HOURS, target_seconds=8 * 3600)
    clock = Clock(running_since=START)
    sla.pause(level, clock, START + timedelta(days=2))  # over the weekend: only Friday's half hour counts
    assert clock.consumed_seconds == 1800


def test_deadlines_for_an_unassigned_request_then_for_an_assigned_one():
    level = ServiceLevel(
        hours=ALWAYS,
        target_seconds=100,
        assign_within=10,
        escalate_after=5,
        remind_before=20,
        overdue_escalate=7,
    )
    clock = Clock(running_since=START, unassigned_since=START)
    unassigned = sla.deadlines(level, clock, assigned=False, waiting=False)
    assert unassigned == {
        sla.ASSIGN_REMINDER: START + timedelta(seconds=10),
        sla.ASSIGN_ESCALATION: START + timedelta(seconds=15),
        sla.OVERDUE: START + timedelta(seconds=100),
        sla.OVERDUE_ESCALATION: START + timedelta(seconds=107),
    }
    assigned = sla.deadlines(level, clock, assigned=True, waiting=False)
    assert assigned[sla.DUE_REMINDER] == START + timedelta(seconds=80)
    assert sla.ASSIGN_REMINDER not in assigned


def test_what_has_fired_does_not_fire_again():
    level = ServiceLevel(hours=ALWAYS, target_seconds=100)
    clock = Clock(running_since=START, fired=[sla.OVERDUE])
    assert sla.deadlines(level, clock, assigned=True, waiting=False) == {}


def test_waiting_on_the_citizen_counts_calendar_time_and_a_restart_clears_everything():
    level = ServiceLevel(
        hours=TORONTO_HOURS, timezone="America/Toronto", citizen_remind=3600, citizen_close=7200
    )
    clock = Clock(waiting_since=START, fired=[sla.OVERDUE])
    found = sla.deadlines(level, clock, assigned=True, waiting=True)
    assert found[sla.CITIZEN_REMINDER] == START + timedelta(
        hours=1
    )  # calendar time, though it is Friday night
    assert found[sla.CITIZEN_AUTO_CLOSE] == START + timedelta(hours=2)
    sla.restart(clock, START)
    assert clock.fired == [] and clock.consumed_seconds == 0 and clock.running_since == START
