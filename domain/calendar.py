"""Business-time arithmetic for SLA clocks, on each municipality's own calendar.

The service-request workflow calls these functions while Temporal replays its history, so they are pure:
no clock reads, no I/O, no state kept between calls, nothing outside the standard library.

Opening hours are wall-clock readings in the municipality's time zone, but every sum is done on real
instants: each opening and closing time is first turned into the UTC instant at which the local clock
shows it. A day that loses an hour to daylight saving time therefore loses it from business time too, and
an hour the clocks repeat counts twice when it lies inside opening hours.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = {name: ["08:30-16:30"] for name in DAY_NAMES[:5]}
# A deadline further out than this means the calendar is wrong (say, a holiday list that closes every
# day); raising beats searching forever.
SEARCH_LIMIT = timedelta(days=3 * 366)

Interval = tuple[timedelta, timedelta]  # opening hours on the clock face; see BusinessCalendar
_Instants = tuple[datetime, datetime]

_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTERVAL_TEXT = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@dataclass(frozen=True)
class BusinessCalendar:
    """When a municipality's SLA clocks run.

    `weekly_hours[weekday]` (0 = Monday) holds that day's opening intervals, half-open `[start, end)`, as
    offsets on the clock face from local midnight: `(timedelta(hours=8, minutes=30), timedelta(hours=16,
    minutes=30))` is 08:30-16:30. Offsets rather than `datetime.time` because an interval that runs until
    midnight needs an end of 24:00, which `time` cannot express. An offset names what the clock shows,
    not real time elapsed since midnight; the two differ on days the clocks change. Intervals are whole
    minutes, sorted and non-overlapping (they may touch). `holidays` are local dates closed all day.
    """

    timezone: str
    weekly_hours: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError, TypeError):
            raise ValueError(
                f"unknown time zone {self.timezone!r}; use an IANA name such as 'America/Toronto'"
            ) from None
        weekly = tuple(tuple(map(tuple, day)) for day in self.weekly_hours)
        if len(weekly) != 7:
            raise ValueError(f"weekly_hours needs 7 days, Monday first, not {len(weekly)}")
        for name, intervals in zip(DAY_NAMES, weekly, strict=True):
            previous: Interval | None = None
            for start, end in intervals:
                span = _span(start, end)
                if not timedelta(0) <= start < end <= _DAY:
                    raise ValueError(f"{name}: {span} must end after it starts, between 00:00 and 24:00")
                if start % _MINUTE or end % _MINUTE:
                    raise ValueError(f"{name}: {span} must be whole minutes")
                if previous is not None and start < previous[1]:
                    raise ValueError(f"{name}: {span} overlaps {_span(*previous)} or comes before it")
                previous = (start, end)
        if not any(weekly):
            raise ValueError("the calendar has no opening hours, so an SLA clock on it could never run")
        object.__setattr__(self, "weekly_hours", weekly)
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """Open around the clock with no holidays, so business time is plain elapsed time."""
        whole_day = ((timedelta(0), _DAY),)
        return cls(timezone, (whole_day,) * 7)

    @classmethod
    def from_settings(
        cls,
        timezone: str,
        hours: Mapping[str, Sequence[str]] | None = None,
        holidays: Sequence[str] | None = None,
    ) -> BusinessCalendar:
        """Reads the JSON a tenant stores: `{"mon": ["08:30-12:00", "13:00-16:30"], ...}`.

        A day left out is closed; no hours at all means Monday to Friday 08:30-16:30. Holidays are ISO
        dates. Malformed settings raise ValueError naming the offending day or value, so an admin form can
        show the message as is.
        """
        hours = DEFAULT_HOURS if hours is None else hours
        unknown = sorted(set(hours) - set(DAY_NAMES))
        if unknown:
            raise ValueError(f"unknown day {', '.join(map(repr, unknown))}; days are {', '.join(DAY_NAMES)}")
        weekly = tuple(tuple(sorted(_parse_day(name, hours.get(name)))) for name in DAY_NAMES)
        return cls(timezone, weekly, frozenset(_parse_holiday(text) for text in holidays or ()))

    def to_settings(self) -> dict:
        """The inverse of `from_settings`: `BusinessCalendar.from_settings(**calendar.to_settings())`."""
        return {
            "timezone": self.timezone,
            "hours": {
                name: [_span(start, end) for start, end in intervals]
                for name, intervals in zip(DAY_NAMES, self.weekly_hours, strict=True)
                if intervals
            },
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The earliest instant by which `duration` of business time has elapsed since `start`.

    Outside opening hours the clock waits for the next opening. A zero duration is therefore due at
    `start` itself, even when closed: an SLA that is already used up is overdue now, not at the next
    opening. Any other result lies inside opening hours or exactly at a closing time.
    """
    start = _utc(start)
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if not duration:
        return start
    remaining = duration
    for opens, closes in _open_intervals(start, calendar, _search_end(start, calendar)):
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise ValueError(
        f"{duration} of business time does not fit in the {SEARCH_LIMIT.days} days after {start}; "
        "check the calendar's opening hours and holidays"
    )


def business_time_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time elapsed in `[start, end)`; zero when `end` is not after `start`."""
    start, end = _utc(start), _utc(end)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in _open_intervals(start, calendar, end.astimezone(calendar.zone).date() + _DAY):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def add_calendar_days(start: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    """The same local clock time `days` later, for SLAs counted in calendar days.

    "30 days" after a request filed at 09:00 in winter is 09:00 in summer, not 720 real hours later. A
    time the clocks skip that day moves forward to the moment of the jump; a time they repeat keeps the
    occurrence `start` was in (so zero days gives `start` back).
    """
    local = _utc(start).astimezone(calendar.zone)
    return _instant(local.replace(tzinfo=None) + timedelta(days=days), calendar.zone, local.fold)


def next_opening(moment: datetime, calendar: BusinessCalendar) -> datetime:
    """When the clock next runs: `moment` itself if open, else the next opening time."""
    moment = _utc(moment)
    for opens, _ in _open_intervals(moment, calendar, _search_end(moment, calendar)):
        return opens
    raise ValueError(f"no opening hours in the {SEARCH_LIMIT.days} days after {moment}; check the holidays")


def is_open(moment: datetime, calendar: BusinessCalendar) -> bool:
    moment = _utc(moment)
    day = moment.astimezone(calendar.zone).date()
    # The next day's intervals matter only where clocks go back across midnight.
    return any(
        opens <= moment < closes
        for when in (day, day + _DAY)
        for opens, closes in _intervals_on(when, calendar)
    )


def _open_intervals(start: datetime, calendar: BusinessCalendar, last_day: date) -> Iterator[_Instants]:
    """Opening intervals as real instants, in order, from `start` (the first one cut at it) to `last_day`.

    Walking from `start`'s own local day is enough: that day begins at the first instant the clock reads
    its midnight, which is never after `start`.
    """
    day = start.astimezone(calendar.zone).date()
    while day <= last_day:
        for opens, closes in _intervals_on(day, calendar):
            if closes > start:
                yield max(opens, start), closes
        day += _DAY


def _intervals_on(day: date, calendar: BusinessCalendar) -> list[_Instants]:
    if day in calendar.holidays:
        return []
    midnight, zone = datetime.combine(day, time()), calendar.zone
    instants = [
        (_instant(midnight + start, zone), _instant(midnight + end, zone))
        for start, end in calendar.weekly_hours[day.weekday()]
    ]
    # An interval wholly inside the hour the clocks skip is empty.
    return [(opens, closes) for opens, closes in instants if opens < closes]


def _instant(wall: datetime, zone: ZoneInfo, fold: int = 0) -> datetime:
    """The first UTC instant at which the local clock reads `wall` or later.

    A reading the clocks repeat is its first occurrence (or second, with `fold=1`). A reading they skip
    becomes the moment of the jump, the first time the clock shows a later time. zoneinfo alone would
    shift it by the size of the jump instead, which can put a 02:30 opening after a 03:00 closing.
    """
    instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    if _reading(instant, zone) == wall:
        return instant
    # Skipped. Read with the offset from after the jump (fold=1) it falls just before the jump, with the
    # offset from before (fold=0) just after. zoneinfo does not expose the jump itself, so bisect between
    # the two in whole seconds, the resolution of tz transitions.
    early = (wall.replace(tzinfo=zone, fold=1) - _EPOCH) // _SECOND
    late = -((_EPOCH - wall.replace(tzinfo=zone, fold=0)) // _SECOND)
    while late - early > 1:
        middle = (early + late) // 2
        if _reading(_EPOCH + middle * _SECOND, zone) >= wall:
            late = middle
        else:
            early = middle
    return _EPOCH + late * _SECOND


def _reading(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _search_end(start: datetime, calendar: BusinessCalendar) -> date:
    return start.astimezone(calendar.zone).date() + SEARCH_LIMIT


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{moment} has no time zone; business time needs an aware datetime")
    return moment.astimezone(UTC)


def _span(start: timedelta, end: timedelta) -> str:
    return f"{_clock(start)}-{_clock(end)}"


def _clock(offset: timedelta) -> str:
    minutes = offset // _MINUTE
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_day(name: str, texts: Sequence[str] | None) -> list[Interval]:
    if isinstance(texts, str):
        raise ValueError(f"{name}: expected a list of intervals like ['08:30-16:30'], not {texts!r}")
    return [_parse_interval(name, text) for text in texts or ()]


def _parse_interval(name: str, text: str) -> Interval:
    match = _INTERVAL_TEXT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{name}: {text!r} is not an interval like '08:30-16:30'")
    start_hour, start_minute, end_hour, end_minute = map(int, match.groups())
    for hour, minute in ((start_hour, start_minute), (end_hour, end_minute)):
        if minute > 59 or hour > 24 or (hour == 24 and minute):
            raise ValueError(
                f"{name}: {text!r}: {hour:02d}:{minute:02d} is not a time between 00:00 and 24:00"
            )
    return timedelta(hours=start_hour, minutes=start_minute), timedelta(hours=end_hour, minutes=end_minute)


def _parse_holiday(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"holiday {text!r} is not an ISO date like '2026-12-25'") from None
