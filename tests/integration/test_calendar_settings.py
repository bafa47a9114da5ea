"""A town administrator sets the business calendar: time zone, weekly hours, holidays one by one or from an
iCalendar file. Bad input is refused beside its field; every change is audited; another town's calendar is
untouched."""

from __future__ import annotations

from apps.web import create_app
from domain.tables import AuditEntry
from tenants.tables import Tenant
from tests.integration.test_team_settings import signed_in_admin
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.support.services import offline_settings

OFFLINE = offline_settings()
WEEK = {
    "timezone": "America/Halifax",
    "mon": "08:30-12:00, 13:00-16:30",
    "tue": "08:30-16:30",
    "wed": "08:30-16:30",
    "thu": "08:30-16:30",
    "fri": "08:30-12:00",
    "sat": "",
    "sun": "",
}
HOLIDAYS_ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Town//Holidays//EN\r
BEGIN:VEVENT\r
UID:1@town\r
SUMMARY:Christmas and Boxing Day\r
DTSTART;VALUE=DATE:20271225\r
DTEND;VALUE=DATE:20271227\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@town\r
SUMMARY:Canada\r
  Day\r
DTSTART;VALUE=DATE:20270701\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:3@town\r
SUMMARY:Council meeting (not a holiday)\r
DTSTART:20270310T190000Z\r
DTEND:20270310T210000Z\r
END:VEVENT\r
END:VCALENDAR\r
"""


async def stored(town) -> dict:
    async with town.scope.transaction():
        return (
            await Tenant.select(Tenant.timezone, Tenant.business_calendar)
            .where(Tenant.id == town.id)
            .output(load_json=True)
            .first()
        )


async def test_hours_and_holidays_are_saved_imported_removed_and_audited():
    town, other = await make_town(), await make_town("Othertown")
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        page = await admin.get("/admin/settings/calendar")
        assert page.status_code == 200 and 'value="00:00-24:00"' in page.text  # the test town's hours
        saved = await admin.post("/admin/settings/calendar/hours", WEEK)
        assert saved.headers["location"] == "/admin/settings/calendar?done=saved"
        added = await admin.post("/admin/settings/calendar/holidays", {"holiday": "2027-05-24"})
        assert added.headers["location"] == "/admin/settings/calendar?added=1"
        again = await admin.post("/admin/settings/calendar/holidays", {"holiday": "2027-05-24"})
        assert again.status_code == 422 and "already a holiday" in again.text
        imported = await admin.post(
            "/admin/settings/calendar/holidays/import",
            files={"file": ("holidays-2027.ics", HOLIDAYS_ICS, "text/calendar")},
        )
        assert imported.headers["location"] == "/admin/settings/calendar?added=3"
        shown = await admin.get("/admin/settings/calendar?added=3")
        assert "Holidays added: 3." in shown.text and "2027-12-26" in shown.text
        removed = await admin.post("/admin/settings/calendar/holidays/remove", {"holiday": "2027-07-01"})
        assert removed.headers["location"] == "/admin/settings/calendar?done=removed"
    row = await stored(town)
    assert row["timezone"] == "America/Halifax"
    assert row["business_calendar"]["hours"] == {
        "mon": ["08:30-12:00", "13:00-16:30"],
        "tue": ["08:30-16:30"],
        "wed": ["08:30-16:30"],
        "thu": ["08:30-16:30"],
        "fri": ["08:30-12:00"],
    }
    assert row["business_calendar"]["holidays"] == ["2027-05-24", "2027-12-25", "2027-12-26"]
    theirs = await stored(other)
    assert theirs["timezone"] == "America/Toronto" and "holidays" not in theirs["business_calendar"]
    async with town.scope.transaction():
        entries = await town.scope.select(AuditEntry).order_by(AuditEntry.id)
    assert [entry["action"] for entry in entries] == [
        "calendar.hours",
        "calendar.holidays_added",
        "calendar.holidays_added",
        "calendar.holiday_removed",
    ]
    assert entries[0]["before"]["timezone"] == "America/Toronto"
    assert entries[0]["after"]["sat"] == ""
    assert entries[2]["subject"] == "holidays-2027.ics"
    assert entries[2]["after"] == {"holidays": ["2027-07-01", "2027-12-25", "2027-12-26"]}


async def test_bad_hours_dates_and_files_are_refused_beside_their_field_keeping_what_was_typed():
    town = await make_town()
    app = create_app(OFFLINE)
    before = await stored(town)
    async with await signed_in_admin(app, town) as admin:
        cases = [
            ({**WEEK, "tue": "16:30-08:30"}, "each ends after it starts", 'value="16:30-08:30"'),
            ({**WEEK, "wed": "08:00-12:00, 11:00-14:00"}, "none overlaps the next", "11:00-14:00"),
            ({**WEEK, "thu": "all day"}, "Write opening hours like", 'value="all day"'),
            ({**WEEK, "fri": "25:00-26:00"}, "Write opening hours like", "25:00-26:00"),
            ({**WEEK, "timezone": "Mars/Olympus"}, "Enter a time zone such as", 'value="Mars/Olympus"'),
            ({name: "" for name in WEEK} | {"timezone": "UTC"}, "Open at least one day", 'value="UTC"'),
        ]
        for form, message, kept in cases:
            refused = await admin.post("/admin/settings/calendar/hours", form)
            assert refused.status_code == 422 and message in refused.text, message
            assert kept in refused.text and 'aria-invalid="true"' in refused.text, message
        bad_date = await admin.post("/admin/settings/calendar/holidays", {"holiday": "next Tuesday"})
        assert bad_date.status_code == 422 and "Enter a date like 2026-12-25." in bad_date.text
        for content in (b"not a calendar", b"", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"):
            refused = await admin.post(
                "/admin/settings/calendar/holidays/import",
                files={"file": ("x.ics", content, "text/calendar")},
            )
            assert (
                refused.status_code == 422
                and "iCalendar" in refused.text
                or "no all-day events" in refused.text
            )
    assert await stored(town) == before


async def test_only_the_towns_administrator_reaches_its_calendar():
    town = await make_town()
    app = create_app(OFFLINE)
    before = await stored(town)
    async with PortalClient(app, town.host) as agent:
        await agent.login(town.roads_email, town.password)
        assert (await agent.get("/admin/settings/calendar")).status_code == 403
        assert (await agent.post("/admin/settings/calendar/hours", WEEK)).status_code == 403
        assert (
            await agent.post("/admin/settings/calendar/holidays", {"holiday": "2027-01-01"})
        ).status_code == 403
    assert await stored(town) == before
