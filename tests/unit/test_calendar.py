"""Business time on a municipality's calendar: worked examples around weekends, holidays and the clock
changes, then properties checked on random calendars, zones and starts (many near a clock change)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.calendar import (
    DAY_NAMES,
    BusinessCalendar,
    add_business_time,
    add_calendar_days,
    business_time_between,
    is_open,
    next_opening,
)

TORONTO = ZoneInfo("America/Toronto")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # its clocks change by half an hour
ZONES = ("UTC", "America/Toronto", "Europe/Paris", "Australia/Lord_Howe")
OFFICE = BusinessCalendar.from_settings("America/Toronto", None, None)  # Monday to Friday 08:30-16:30
NIGHTS = BusinessCalendar.from_settings("America/Toronto", dict.fromkeys(DAY_NAMES, ["01:00-04:00"]), None)
HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def toronto(*fields: int, fold: int = 0) -> datetime:
    """A Toronto wall-clock time as its UTC instant: an aware datetime in an hour the clocks repeat never
    compares equal to one in another zone, so expectations are compared in UTC."""
    return datetime(*fields, tzinfo=TORONTO, fold=fold).astimezone(UTC)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def local_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to the next (each at its first occurrence), in UTC."""
    midnights = (datetime.combine(day + timedelta(days=n), time(), zone) for n in (0, 1))
    first, second = (midnight.astimezone(UTC) for midnight in midnights)
    return first, second


# Worked examples on an office calendar in Toronto (2026-05-15 is a Friday).


def test_a_request_filed_late_on_friday_is_due_on_monday_morning():
    due = add_business_time(toronto(2026, 5, 15, 16, 0), 2 * HOUR, OFFICE)
    # Half an hour on Friday, an hour and a half from Monday's 08:30 opening.
    assert due == toronto(2026, 5, 18, 10, 0)
    assert due.tzinfo is UTC
    assert add_business_time(toronto(2026, 5, 15, 16, 0), HOUR, OFFICE) == toronto(2026, 5, 18, 9, 0)


def test_a_request_filed_on_saturday_night_starts_its_clock_at_monday_opening():
    filed = toronto(2026, 5, 16, 23, 59)
    assert not is_open(filed, OFFICE)
    assert next_opening(filed, OFFICE) == toronto(2026, 5, 18, 8, 30)
    assert add_business_time(filed, HOUR, OFFICE) == toronto(2026, 5, 18, 9, 30)
    assert business_time_between(filed, toronto(2026, 5, 18, 8, 30), OFFICE) == timedelta(0)


def test_a_whole_working_day_from_sunday_night_ends_at_monday_closing():
    assert add_business_time(toronto(2026, 5, 17, 23, 59), 8 * HOUR, OFFICE) == toronto(2026, 5, 18, 16, 30)


def test_opening_hours_include_the_opening_minute_but_not_the_closing_one():
    assert is_open(toronto(2026, 5, 18, 8, 30), OFFICE)
    assert not is_open(toronto(2026, 5, 18, 8, 30) - MICROSECOND, OFFICE)
    assert is_open(toronto(2026, 5, 18, 16, 30) - MICROSECOND, OFFICE)
    assert not is_open(toronto(2026, 5, 18, 16, 30), OFFICE)
    assert next_opening(toronto(2026, 5, 18, 12, 0), OFFICE) == toronto(2026, 5, 18, 12, 0)


def test_christmas_and_boxing_day_push_the_deadline_to_tuesday():
    calendar = BusinessCalendar.from_settings("America/Toronto", None, ["2026-12-25", "2026-12-28"])
    filed = toronto(2026, 12, 24, 16, 0)  # Thursday; Friday and Monday are holidays
    assert add_business_time(filed, 2 * HOUR, calendar) == toronto(2026, 12, 29, 10, 0)
    assert add_business_time(filed, 2 * HOUR, OFFICE) == toronto(2026, 12, 25, 10, 0)
    assert not is_open(toronto(2026, 12, 28, 12, 0), calendar)
    assert business_time_between(filed, toronto(2026, 12, 29, 10, 0), calendar) == 2 * HOUR


def test_a_lunch_break_stops_the_clock():
    calendar = BusinessCalendar.from_settings(
        "America/Toronto", {"mon": ["08:30-12:00", "13:00-16:30"]}, None
    )
    monday = (2026, 5, 18)
    assert add_business_time(toronto(*monday, 11, 0), 2 * HOUR, calendar) == toronto(*monday, 14, 0)
    assert add_business_time(toronto(*monday, 11, 0), HOUR, calendar) == toronto(*monday, 12, 0)
    assert business_time_between(toronto(*monday, 11, 30), toronto(*monday, 13, 30), calendar) == HOUR
    assert not is_open(toronto(*monday, 12, 30), calendar)
    assert next_opening(toronto(*monday, 12, 30), calendar) == toronto(*monday, 13, 0)


def test_a_long_duration_is_counted_exactly():
    start = toronto(2026, 1, 5, 8, 30)  # a Monday; 400 hours are ten 40-hour weeks
    due = add_business_time(start, 400 * HOUR, OFFICE)
    assert due == toronto(2026, 3, 13, 16, 30)
    assert business_time_between(start, due, OFFICE) == 400 * HOUR


def test_a_zero_duration_is_due_at_once_even_when_closed():
    saturday = toronto(2026, 5, 16, 12, 0)
    assert add_business_time(saturday, timedelta(0), OFFICE) == saturday
    assert add_business_time(saturday, MICROSECOND, OFFICE) == toronto(2026, 5, 18, 8, 30) + MICROSECOND


# Clock changes in Toronto: 2026-03-08 02:00 jumps to 03:00, 2026-11-01 02:00 goes back to 01:00.


def test_the_hour_skipped_in_spring_is_not_business_time():
    assert business_time_between(*local_day(date(2026, 3, 7), TORONTO), NIGHTS) == 3 * HOUR
    assert business_time_between(*local_day(date(2026, 3, 8), TORONTO), NIGHTS) == 2 * HOUR
    assert add_business_time(toronto(2026, 3, 8, 1, 0), 2 * HOUR, NIGHTS) == utc(2026, 3, 8, 8, 0)
    assert add_business_time(toronto(2026, 3, 8, 1, 30), HOUR, NIGHTS) == toronto(2026, 3, 8, 3, 30)
    assert add_business_time(toronto(2026, 3, 8, 1, 0), 2 * HOUR + MICROSECOND, NIGHTS) == (
        toronto(2026, 3, 9, 1, 0) + MICROSECOND
    )


def test_the_hour_repeated_in_autumn_counts_twice():
    assert business_time_between(*local_day(date(2026, 11, 1), TORONTO), NIGHTS) == 4 * HOUR
    opening = toronto(2026, 11, 1, 1, 0)
    assert opening == utc(2026, 11, 1, 5, 0)  # the first 01:00, still on daylight time
    assert add_business_time(opening, 3 * HOUR, NIGHTS) == toronto(2026, 11, 1, 3, 0)
    assert add_business_time(opening, 4 * HOUR, NIGHTS) == utc(2026, 11, 1, 9, 0)
    assert is_open(datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=TORONTO), NIGHTS)  # the second 01:30
    assert not is_open(datetime(2026, 11, 1, 4, 0, tzinfo=TORONTO), NIGHTS)


def test_an_always_open_day_is_as_long_as_the_clocks_make_it():
    toronto_24h = BusinessCalendar.always_open("America/Toronto")
    lord_howe_24h = BusinessCalendar.always_open("Australia/Lord_Howe")
    assert business_time_between(*local_day(date(2026, 3, 8), TORONTO), toronto_24h) == 23 * HOUR
    assert business_time_between(*local_day(date(2026, 11, 1), TORONTO), toronto_24h) == 25 * HOUR
    assert business_time_between(*local_day(date(2026, 10, 4), LORD_HOWE), lord_howe_24h) == 23.5 * HOUR
    assert business_time_between(*local_day(date(2026, 4, 5), LORD_HOWE), lord_howe_24h) == 24.5 * HOUR


def test_an_opening_time_the_clocks_skip_opens_at_the_jump():
    calendar = BusinessCalendar.from_settings("America/Toronto", {"sun": ["02:30-05:00"]}, None)
    assert next_opening(toronto(2026, 3, 8, 0, 0), calendar) == utc(2026, 3, 8, 7, 0)  # 03:00 daylight time
    assert business_time_between(*local_day(date(2026, 3, 8), TORONTO), calendar) == 2 * HOUR
    assert business_time_between(*local_day(date(2026, 3, 15), TORONTO), calendar) == 2.5 * HOUR


def test_hours_wholly_inside_the_skipped_time_count_for_nothing_that_day():
    toronto_gap = BusinessCalendar.from_settings("America/Toronto", {"sun": ["02:00-03:00"]}, None)
    assert business_time_between(*local_day(date(2026, 3, 8), TORONTO), toronto_gap) == timedelta(0)
    assert business_time_between(*local_day(date(2026, 3, 15), TORONTO), toronto_gap) == HOUR
    lord_howe_gap = BusinessCalendar.from_settings("Australia/Lord_Howe", {"sun": ["02:00-02:30"]}, None)
    assert business_time_between(*local_day(date(2026, 10, 4), LORD_HOWE), lord_howe_gap) == timedelta(0)
    assert next_opening(datetime(2026, 10, 4, tzinfo=LORD_HOWE), lord_howe_gap) == datetime(
        2026, 10, 11, 2, 0, tzinfo=LORD_HOWE
    )


def test_clocks_going_back_across_midnight_reopen_the_day_before():
    # St. John's fell back at 00:01 until 2011: Sunday 00:00 came, then Saturday 23:01 again.
    st_johns = ZoneInfo("America/St_Johns")
    calendar = BusinessCalendar.from_settings("America/St_Johns", {"sun": ["00:00-08:00"]}, None)
    repeated_saturday = utc(2010, 11, 7, 3, 0)
    assert repeated_saturday.astimezone(st_johns).strftime("%a %H:%M") == "Sat 23:30"
    assert is_open(repeated_saturday, calendar)  # Sunday's hours began at the first midnight
    assert next_opening(datetime(2010, 11, 6, 12, 0, tzinfo=st_johns), calendar) == utc(2010, 11, 7, 2, 30)
    assert business_time_between(*local_day(date(2010, 11, 7), st_johns), calendar) == 9 * HOUR


def test_always_open_is_plain_addition():
    calendar = BusinessCalendar.always_open("America/Toronto")
    for start in (toronto(2026, 3, 7, 22, 15), toronto(2026, 11, 1, 1, 30, fold=1), utc(2027, 1, 1)):
        for duration in (timedelta(0), MICROSECOND, 5 * HOUR, timedelta(days=40, seconds=7)):
            # In UTC: adding to a datetime in a zone would move its wall clock, not the instant.
            later = start.astimezone(UTC) + duration
            assert add_business_time(start, duration, calendar) == later
            assert business_time_between(start, later, calendar) == duration


# Calendar days.


def test_calendar_days_keep_the_local_clock_time_across_a_clock_change():
    spring = add_calendar_days(toronto(2026, 3, 1, 9, 0), 14, OFFICE)
    assert spring == toronto(2026, 3, 15, 9, 0)
    assert spring == utc(2026, 3, 15, 13, 0)
    assert spring.tzinfo is UTC
    assert add_calendar_days(toronto(2026, 10, 20, 9, 0), 14, OFFICE) == utc(2026, 11, 3, 14, 0)
    assert add_calendar_days(toronto(2026, 11, 3, 9, 0), -14, OFFICE) == utc(2026, 10, 20, 13, 0)


def test_calendar_days_move_a_skipped_time_to_the_jump_and_keep_a_repeated_one():
    assert add_calendar_days(toronto(2026, 3, 7, 2, 30), 1, OFFICE) == utc(2026, 3, 8, 7, 0)
    assert add_calendar_days(toronto(2026, 10, 31, 1, 30), 1, OFFICE) == utc(2026, 11, 1, 5, 30)
    second = toronto(2026, 11, 1, 1, 30, fold=1)
    assert add_calendar_days(second, 0, OFFICE) == second == utc(2026, 11, 1, 6, 30)


# Settings.


def test_settings_round_trip():
    settings_ = {
        "timezone": "Europe/Paris",
        "hours": {"mon": ["08:30-12:00", "13:00-16:30"], "sat": ["09:00-12:00"], "sun": ["22:00-24:00"]},
        "holidays": ["2026-05-01", "2026-12-25"],
    }
    calendar = BusinessCalendar.from_settings(**settings_)
    assert calendar.weekly_hours[0] == ((8.5 * HOUR, 12 * HOUR), (13 * HOUR, 16.5 * HOUR))
    assert calendar.weekly_hours[1] == ()
    assert calendar.weekly_hours[6] == ((22 * HOUR, 24 * HOUR),)
    assert calendar.holidays == {date(2026, 5, 1), date(2026, 12, 25)}
    assert calendar.to_settings() == settings_
    assert json.loads(json.dumps(calendar.to_settings())) == settings_
    assert BusinessCalendar.from_settings(**calendar.to_settings()) == calendar


def test_settings_are_normalised():
    calendar = BusinessCalendar.from_settings(
        "UTC", {"tue": [" 13:00 - 16:30", "8:30-12:00"], "wed": []}, ["2026-12-25", "2026-01-01"]
    )
    assert calendar.to_settings() == {
        "timezone": "UTC",
        "hours": {"tue": ["08:30-12:00", "13:00-16:30"]},
        "holidays": ["2026-01-01", "2026-12-25"],
    }


def test_default_and_always_open_settings():
    assert OFFICE.to_settings()["hours"] == dict.fromkeys(DAY_NAMES[:5], ["08:30-16:30"])
    always = BusinessCalendar.always_open("America/Toronto")
    assert always.to_settings() == {
        "timezone": "America/Toronto",
        "hours": dict.fromkeys(DAY_NAMES, ["00:00-24:00"]),
        "holidays": [],
    }
    assert BusinessCalendar.from_settings(**always.to_settings()) == always


@pytest.mark.parametrize(
    ("timezone", "hours", "holidays", "message"),
    [
        ("Mars/Olympus", None, None, "unknown time zone 'Mars/Olympus'"),
        ("", None, None, "unknown time zone ''"),
        ("UTC", {"mon": ["25:00-26:00"]}, None, "mon: '25:00-26:00': 25:00 is not a time"),
        ("UTC", {"tue": ["08:60-09:00"]}, None, "tue: '08:60-09:00': 08:60 is not a time"),
        ("UTC", {"wed": ["08:00-24:30"]}, None, "24:30 is not a time"),
        ("UTC", {"thu": ["8h-12h"]}, None, "thu: '8h-12h' is not an interval like '08:30-16:30'"),
        ("UTC", {"fri": "08:00-12:00"}, None, "fri: expected a list of intervals"),
        ("UTC", {"mon": ["12:00-08:00"]}, None, "mon: 12:00-08:00 must end after it starts"),
        ("UTC", {"mon": ["09:00-09:00"]}, None, "mon: 09:00-09:00 must end after it starts"),
        ("UTC", {"sat": ["08:00-12:00", "11:00-13:00"]}, None, "sat: 11:00-13:00 overlaps 08:00-12:00"),
        ("UTC", {"monday": ["08:00-12:00"]}, None, "unknown day 'monday'"),
        ("UTC", {}, None, "no opening hours"),
        ("UTC", {"sun": []}, None, "no opening hours"),
        ("UTC", None, ["2026-13-01"], "holiday '2026-13-01' is not an ISO date"),
        ("UTC", None, ["Christmas"], "holiday 'Christmas' is not an ISO date"),
    ],
)
def test_malformed_settings_are_refused_with_a_clear_message(timezone, hours, holidays, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        BusinessCalendar.from_settings(timezone, hours, holidays)


def test_direct_construction_is_checked_too():
    with pytest.raises(ValueError, match="needs 7 days"):
        BusinessCalendar("UTC", (((timedelta(0), HOUR),),) * 6)
    with pytest.raises(ValueError, match="whole minutes"):
        BusinessCalendar("UTC", (((timedelta(seconds=30), HOUR),),) * 7)
    with pytest.raises(ValueError, match="between 00:00 and 24:00"):
        BusinessCalendar("UTC", (((HOUR, 25 * HOUR),),) * 7)


def test_naive_datetimes_and_negative_durations_are_refused():
    with pytest.raises(ValueError, match="no time zone"):
        add_business_time(datetime(2026, 5, 18, 9, 0), HOUR, OFFICE)
    with pytest.raises(ValueError, match="no time zone"):
        is_open(datetime(2026, 5, 18, 9, 0), OFFICE)
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_time(toronto(2026, 5, 18, 9, 0), -HOUR, OFFICE)


def test_holidays_that_close_the_calendar_for_years_raise_instead_of_looping():
    mondays = [date(2026, 1, 5) + timedelta(weeks=week) for week in range(52 * 4)]  # to 2029-12-24
    calendar = BusinessCalendar.from_settings(
        "UTC", {"mon": ["09:00-10:00"]}, [d.isoformat() for d in mondays]
    )
    start = utc(2026, 1, 1)
    with pytest.raises(ValueError, match="does not fit in the 1098 days after"):
        add_business_time(start, HOUR, calendar)
    with pytest.raises(ValueError, match="no opening hours in the 1098 days after"):
        next_opening(start, calendar)
    assert business_time_between(start, utc(2029, 12, 31), calendar) == timedelta(0)
    assert business_time_between(start, utc(2029, 12, 31, 9, 30), calendar) == HOUR / 2


def test_a_deadline_years_away_on_a_sparse_calendar_is_still_found():
    calendar = BusinessCalendar.from_settings("UTC", {"mon": ["09:00-10:00"]}, None)
    due = add_business_time(utc(2026, 1, 5, 9, 0), 150 * HOUR, calendar)  # Mondays, one hour each
    assert due == datetime.combine(date(2026, 1, 5) + timedelta(weeks=149), time(10), UTC)


# Properties.


def _parse(interval: str) -> tuple[timedelta, timedelta]:
    return BusinessCalendar.from_settings("UTC", {"mon": [interval]}, None).weekly_hours[0][0]


def _clock_changes(zone: str) -> list[datetime]:
    tz = ZoneInfo(zone)
    days = (date(2025, 1, 1) + timedelta(days=n) for n in range(4 * 366))
    return [
        datetime.combine(day, time(), tz)
        for day in days
        if datetime.combine(day, time(), tz).utcoffset() != datetime.combine(day, time(23), tz).utcoffset()
    ]


# (zone, local midnight starting a day on which its clocks change), 2025-2028.
CLOCK_CHANGES = [(zone, midnight) for zone in ZONES for midnight in _clock_changes(zone)]
FIXED_WEEKS = [
    OFFICE.weekly_hours,
    NIGHTS.weekly_hours,
    BusinessCalendar.always_open().weekly_hours,
    BusinessCalendar.from_settings(
        "UTC", {"sat": ["00:00-24:00"], "sun": ["00:00-24:00"]}, None
    ).weekly_hours,
]
# Days shaped around the small hours, where the clocks change (01:00 UTC in Paris, 02:00 local elsewhere).
DAY_SHAPES = [
    (),
    ("00:00-24:00",),
    ("08:30-12:00", "13:00-16:30"),
    ("01:00-04:00",),
    ("02:00-03:00",),
    ("02:00-02:30", "02:30-03:00"),
    ("00:00-01:30", "02:00-02:30", "03:00-24:00"),
    ("01:30-02:30", "03:30-23:30"),
    ("00:00-02:00", "22:00-24:00"),
]
day_shapes = st.one_of(
    st.sampled_from([tuple(_parse(text) for text in shape) for shape in DAY_SHAPES]),
    st.tuples(st.integers(0, 48), st.integers(0, 48))
    .filter(lambda marks: marks[0] != marks[1])
    .map(lambda marks: ((min(marks) * HOUR / 2, max(marks) * HOUR / 2),)),
)


@st.composite
def weeks(draw):
    week = tuple(draw(day_shapes) for _ in DAY_NAMES)
    # Fewer hours make 200 business hours span years of days; the examples cover sparse calendars.
    assume(sum((end - start for day in week for start, end in day), timedelta(0)) >= 20 * HOUR)
    return week


DAY_US = 24 * 3600 * 10**6
FOUR_YEARS = (datetime(2029, 1, 1, tzinfo=UTC) - datetime(2025, 1, 1, tzinfo=UTC)) // MICROSECOND
random_starts = st.tuples(
    st.sampled_from(ZONES),
    st.integers(0, FOUR_YEARS).map(lambda n: datetime(2025, 1, 1, tzinfo=UTC) + n * MICROSECOND),
)
starts_near_a_clock_change = st.tuples(
    st.sampled_from(CLOCK_CHANGES), st.integers(-3 * DAY_US, 2 * DAY_US)
).map(lambda drawn: (drawn[0][0], drawn[0][1].astimezone(UTC) + drawn[1] * MICROSECOND))


@st.composite
def scenarios(draw):
    """A calendar and a start in any zone, often within days of one of the calendar's clock changes."""
    zone, start = draw(st.one_of(random_starts, starts_near_a_clock_change))
    weekly = draw(st.one_of(st.sampled_from(FIXED_WEEKS), weeks()))
    local_start = start.astimezone(ZoneInfo(zone)).date()
    holidays = {
        local_start + timedelta(days=days) for days in draw(st.lists(st.integers(-1, 40), max_size=5))
    }
    start = start.astimezone(ZoneInfo(draw(st.sampled_from(ZONES))))
    return BusinessCalendar(zone, weekly, frozenset(holidays)), start


durations = st.timedeltas(timedelta(0), 200 * HOUR)
spans = st.timedeltas(timedelta(0), timedelta(days=30))


@PROPERTY
@given(scenarios(), durations)
def test_measuring_up_to_the_deadline_gives_the_duration_back(scenario, duration):
    calendar, start = scenario
    due = add_business_time(start, duration, calendar)
    assert due.tzinfo is UTC
    assert due >= start
    assert business_time_between(start, due, calendar) == duration


@PROPERTY
@given(scenarios(), durations)
def test_a_deadline_is_within_opening_hours_or_exactly_at_a_closing_time(scenario, duration):
    calendar, start = scenario
    due = add_business_time(start, duration, calendar)
    if duration:
        assert is_open(due, calendar) or is_open(due - MICROSECOND, calendar)
    else:
        assert due == start.astimezone(UTC)


@PROPERTY
@given(scenarios(), durations, durations)
def test_a_longer_duration_is_never_due_earlier(scenario, first, second):
    calendar, start = scenario
    shorter, longer = sorted((first, second))
    assert add_business_time(start, shorter, calendar) <= add_business_time(start, longer, calendar)


@PROPERTY
@given(scenarios(), durations, durations)
def test_adding_in_two_steps_is_adding_the_sum(scenario, first, second):
    calendar, start = scenario
    in_steps = add_business_time(add_business_time(start, first, calendar), second, calendar)
    assert in_steps == add_business_time(start, first + second, calendar)


@PROPERTY
@given(scenarios(), spans, spans)
def test_business_time_adds_up_over_a_split_point(scenario, before, after):
    calendar, start = scenario
    split = start.astimezone(UTC) + before
    end = split + after
    whole = business_time_between(start, end, calendar)
    assert whole == business_time_between(start, split, calendar) + business_time_between(
        split, end, calendar
    )
    assert timedelta(0) <= whole <= end - start
    assert business_time_between(end, start, calendar) == timedelta(0)


@PROPERTY
@given(scenarios(), spans)
def test_holidays_are_never_counted(scenario, span):
    calendar, start = scenario
    start = start.astimezone(UTC)
    end = start + span
    every_day = dataclasses.replace(calendar, holidays=frozenset())
    on_holidays = timedelta(0)
    for holiday in calendar.holidays:
        midnight, next_midnight = local_day(holiday, calendar.zone)
        assert business_time_between(midnight, next_midnight, calendar) == timedelta(0)
        assert not any(is_open(midnight + n * HOUR / 2, calendar) for n in range(46))
        on_holidays += business_time_between(max(start, midnight), min(end, next_midnight), every_day)
    assert (
        business_time_between(start, end, calendar)
        == business_time_between(start, end, every_day) - on_holidays
    )


@PROPERTY
@given(scenarios())
def test_is_open_agrees_with_the_business_time_counted(scenario):
    calendar, start = scenario
    # Every zone here is a whole number of half hours from UTC, so all opening boundaries fall on
    # half hours in UTC as well: sampling each half hour from an aligned start measures exactly.
    step = HOUR / 2
    start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    open_steps = sum(is_open(start + n * step, calendar) for n in range(3 * 48))
    assert business_time_between(start, start + 3 * 48 * step, calendar) == open_steps * step


@PROPERTY
@given(scenarios())
def test_next_opening_is_where_the_clock_starts(scenario):
    calendar, start = scenario
    opening = next_opening(start, calendar)
    assert opening >= start
    assert is_open(opening, calendar)
    assert business_time_between(start, opening, calendar) == timedelta(0)
    assert (opening == start.astimezone(UTC)) == is_open(start, calendar)
    assert add_business_time(start, MICROSECOND, calendar) == opening + MICROSECOND


@PROPERTY
@given(
    st.sampled_from(ZONES),
    st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
    durations,
)
def test_always_open_business_time_is_elapsed_time(zone, start, duration):
    calendar = BusinessCalendar.always_open(zone)
    assert add_business_time(start, duration, calendar) == start + duration
    assert business_time_between(start, start + duration, calendar) == duration


@PROPERTY
@given(scenarios(), st.integers(-400, 400))
def test_calendar_days_keep_the_local_time_when_it_exists(scenario, days):
    calendar, start = scenario
    zone = calendar.zone
    local = start.astimezone(zone)
    target = add_calendar_days(start, days, calendar)
    assert target.tzinfo is UTC
    wanted = local.replace(tzinfo=None) + timedelta(days=days)
    reading = target.astimezone(zone).replace(tzinfo=None)
    assert reading >= wanted
    assert reading == wanted or not _exists(wanted, zone)
    assert add_calendar_days(start, 0, calendar) == start.astimezone(UTC)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
