"""A town administrator runs the town's departments and staff: invitations by e-mail (a single-use link that
sets the password, and the authenticator app where the town requires it), roles and departments,
deactivation, and an audit log of every change. Only the town's administrators reach it; another town's
people and departments are not found."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pyotp

from apps.web import create_app
from domain import sign_in
from domain.tables import AuditEntry, StaffUser
from tests.integration.test_two_factor import SECRET, require_two_factor
from tests.support.factories import department_id, make_town, staff_id
from tests.support.portal import PortalClient
from tests.support.services import offline_settings
from tests.workflows.lifecycle_helpers import about, text_of

OFFLINE = offline_settings()
INVITATION_LINK = re.compile(r"http://\S+?(/admin/invitation/[\w-]+)")
PASSWORD = "a long password of my own"


async def invitation_link(inbox, email: str) -> str:
    mail = await inbox.wait_for(about(email, "You are invited"))
    inbox.messages.remove(mail)
    return INVITATION_LINK.search(text_of(mail)).group(1)


async def signed_in_admin(app, town) -> PortalClient:
    admin = PortalClient(app, town.host)
    assert (await admin.login(town.admin_email, town.password)).status_code == 303
    return admin


def invitation(email: str, *departments: int, name: str = "Lenny Leonard", role: str = "agent") -> dict:
    return {
        "name": name,
        "email": email,
        "role": role,
        "departments": [str(number) for number in departments],
    }


async def audit_actions(town) -> list[tuple[str, str, dict, dict]]:
    async with town.scope.transaction():
        rows = await town.scope.select(AuditEntry).order_by(AuditEntry.id)
    return [(row["actor_name"], row["action"], row["before"], row["after"]) for row in rows]


async def test_an_invited_member_chooses_a_password_through_the_mailed_link_and_works_their_department(inbox):
    town = await make_town()
    lighting = await department_id(town, "lighting")
    app = create_app(OFFLINE)
    email = f"lights@{town.slug}.test"
    async with await signed_in_admin(app, town) as admin:
        before = await admin.get("/admin/settings/departments")
        assert before.status_code == 200
        assert "Nobody: its requests reach no one" in before.text  # Street Lighting has no staff yet
        assert (await admin.get("/admin/settings/staff")).status_code == 200
        sent = await admin.post("/admin/settings/staff", invitation(email.upper(), lighting))
        assert sent.headers["location"] == "/admin/settings/staff?done=invited"
        listed = await admin.get("/admin/settings/staff")
        assert email in listed.text and "Invited, not joined yet" in listed.text

    link = await invitation_link(inbox, email)
    async with PortalClient(app, town.host) as newcomer:
        for _ in range(2):  # opening the link (a mail scanner does) does not use it up
            shown = await newcomer.get(link)
            assert shown.status_code == 200 and "Welcome, Lenny Leonard" in shown.text and email in shown.text
        short = await newcomer.post(link, {"password": "short", "confirmation": "short"})
        assert short.status_code == 422 and "at least 12 characters" in short.text
        differ = await newcomer.post(link, {"password": PASSWORD, "confirmation": PASSWORD + "!"})
        assert differ.status_code == 422 and "not the same" in differ.text
        joined = await newcomer.post(link, {"password": PASSWORD, "confirmation": PASSWORD})
        assert joined.headers["location"] == "/admin/requests"
        queue = await newcomer.get("/admin/requests")
        assert queue.status_code == 200 and "Lenny Leonard" in queue.text
        assert "/admin/settings/staff" not in queue.text  # an agent has no settings

    async with PortalClient(app, town.host) as later:
        assert (await later.get(link)).status_code == 410  # used once
        assert (await later.post(link, {"password": PASSWORD, "confirmation": PASSWORD})).status_code == 410
        assert (await later.login(email, PASSWORD)).headers["location"] == "/admin/requests"

    async with await signed_in_admin(app, town) as admin:
        departments = await admin.get("/admin/settings/departments")
        lighting_row = next(row for row in departments.text.split("<tr>") if "Street Lighting" in row)
        assert "Lenny Leonard" in lighting_row and "Nobody" not in lighting_row
        log = await admin.get("/admin/settings/audit")
        assert "Staff member invited" in log.text and "Invitation accepted" in log.text
    actions = await audit_actions(town)
    assert actions[0] == (
        "Ada Admin",
        "staff.invited",
        {},
        {"email": email, "role": "agent", "departments": ["Street Lighting"]},
    )
    assert actions[1][:2] == ("Lenny Leonard", "staff.joined")


async def test_an_invitation_with_mistakes_is_refused_by_field_keeping_what_was_typed(inbox):
    town = await make_town()
    other = await make_town("Othertown")
    foreign_department = await department_id(other, "lighting")
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        empty = await admin.post(
            "/admin/settings/staff", invitation("not-an-address", name="  ", role="agent")
        )
        assert empty.status_code == 422
        assert "Enter the person's name." in empty.text
        assert "Enter an email address like name@example.com." in empty.text
        assert "work for at least one department" in empty.text
        assert 'value="not-an-address"' in empty.text and 'aria-invalid="true"' in empty.text
        taken = await admin.post("/admin/settings/staff", invitation(town.roads_email, name="Rory Again"))
        assert taken.status_code == 422 and "already has this address" in taken.text
        assert 'value="Rory Again"' in taken.text
        foreign = await admin.post(
            "/admin/settings/staff", invitation(f"x@{town.slug}.test", foreign_department)
        )
        assert foreign.status_code == 422 and "Choose departments from the list." in foreign.text
        nonsense = await admin.post(
            "/admin/settings/staff",
            {**invitation(f"y@{town.slug}.test"), "departments": ["x", "99999999999"]},
        )
        assert nonsense.status_code == 422 and "Choose departments from the list." in nonsense.text
        bad_role = await admin.post("/admin/settings/staff", invitation(f"z@{town.slug}.test", role="owner"))
        assert bad_role.status_code == 422 and "Choose a role." in bad_role.text
    async with town.scope.transaction():
        assert await town.scope.count(StaffUser) == 5  # none of them was saved
    assert not inbox.matching(about(f"x@{town.slug}.test", "You are invited"))


async def test_in_a_town_that_requires_two_step_sign_in_the_invitee_sets_up_the_app_at_once(inbox):
    town = await make_town()
    await require_two_factor(town)
    app = create_app(OFFLINE)
    email = f"viewer2@{town.slug}.test"
    async with PortalClient(app, town.host) as admin:
        half = await admin.login(town.admin_email, town.password)
        assert half.headers["location"] == "/admin/login/code"  # the admin goes through it too
        enrol = await inbox.wait_for(about(town.admin_email, "Set up two-step sign-in"))
        await admin.get(re.search(r"http://\S+?(/admin/login/enrol/[\w-]+)", text_of(enrol)).group(1))
        secret = SECRET.search((await admin.get("/admin/login/code")).text).group(1)
        assert (await admin.post("/admin/login/code", {"code": pyotp.TOTP(secret).now()})).status_code == 303
        assert (await admin.get("/admin/settings/staff")).status_code == 200  # signed in: its form's token
        sent = await admin.post("/admin/settings/staff", invitation(email, name="Val Viewer", role="viewer"))
        assert sent.headers["location"] == "/admin/settings/staff?done=invited"
    link = await invitation_link(inbox, email)
    async with PortalClient(app, town.host) as newcomer:
        await newcomer.get(link)
        joined = await newcomer.post(link, {"password": PASSWORD, "confirmation": PASSWORD})
        assert joined.headers["location"] == "/admin/login/code"
        assert (await newcomer.get("/admin/requests")).headers["location"] == "/admin/login"  # not in yet
        enrolment = await newcomer.get("/admin/login/code")
        secret = SECRET.search(enrolment.text).group(1)  # no second link: the invitation proved the mailbox
        signed_in = await newcomer.post("/admin/login/code", {"code": pyotp.TOTP(secret).now()})
        assert signed_in.headers["location"] == "/admin/requests"
        assert (await newcomer.get("/admin/requests")).status_code == 200
    assert not inbox.matching(about(email, "Set up two-step sign-in"))


async def test_an_expired_or_replaced_invitation_link_is_refused_and_a_new_one_works(inbox):
    town = await make_town()
    app = create_app(OFFLINE)
    email = f"late@{town.slug}.test"
    async with await signed_in_admin(app, town) as admin:
        await admin.post("/admin/settings/staff", invitation(email, name="Lou Late", role="viewer"))
        first = await invitation_link(inbox, email)
        person = await staff_id(town, email)
        again = await admin.post(f"/admin/settings/staff/{person}/invitation")
        assert again.headers["location"] == "/admin/settings/staff?done=sent-again"
        second = await invitation_link(inbox, email)
    async with PortalClient(app, town.host) as newcomer:
        replaced = await newcomer.get(first)
        assert replaced.status_code == 410 and "expired or was already used" in replaced.text
        async with town.scope.transaction():
            await town.scope.update(
                StaffUser, {StaffUser.invited_until: datetime.now(UTC) - timedelta(seconds=1)}
            ).where(StaffUser.id == person)
        assert (await newcomer.get(second)).status_code == 410
        refused = await newcomer.post(second, {"password": PASSWORD, "confirmation": PASSWORD})
        assert refused.status_code == 410
    async with await signed_in_admin(app, town) as admin:
        await admin.post(f"/admin/settings/staff/{person}/invitation")
        third = await invitation_link(inbox, email)
    async with PortalClient(app, town.host) as newcomer:
        await newcomer.get(third)
        joined = await newcomer.post(third, {"password": PASSWORD, "confirmation": PASSWORD})
        assert joined.headers["location"] == "/admin/requests"
    assert [action for _, action, _, _ in await audit_actions(town)] == [
        "staff.invited",
        "staff.invitation_sent_again",
        "staff.invitation_sent_again",
        "staff.joined",
    ]


async def test_when_the_mail_cannot_be_sent_the_invitation_is_kept_and_can_be_sent_again(inbox):
    town = await make_town()
    email = f"unlucky@{town.slug}.test"
    mail_down = create_app(dataclasses.replace(OFFLINE, smtp_port=9))
    async with await signed_in_admin(mail_down, town) as admin:
        kept = await admin.post("/admin/settings/staff", invitation(email, name="Una Lucky", role="viewer"))
        assert kept.status_code == 202 and "could not be sent just now" in kept.text
        assert email in kept.text and "Invited, not joined yet" in kept.text
    async with await signed_in_admin(create_app(OFFLINE), town) as admin:
        resent = await admin.post(f"/admin/settings/staff/{await staff_id(town, email)}/invitation")
        assert resent.headers["location"] == "/admin/settings/staff?done=sent-again"
    assert await invitation_link(inbox, email)


async def test_role_departments_and_deactivation_change_what_the_member_may_do_and_are_audited():
    town = await make_town()
    works, lighting = await department_id(town, "public-works"), await department_id(town, "lighting")
    roads = await staff_id(town, town.roads_email)
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin, PortalClient(app, town.host) as agent:
        assert (await agent.login(town.roads_email, town.password)).headers["location"] == "/admin/requests"
        page = await admin.get(f"/admin/settings/staff/{roads}")
        assert page.status_code == 200 and "Rory Roads" in page.text
        none = await admin.post(f"/admin/settings/staff/{roads}", {"role": "agent", "departments": []})
        assert none.status_code == 422 and "work for at least one department" in none.text
        moved = await admin.post(
            f"/admin/settings/staff/{roads}",
            {"role": "supervisor", "departments": [str(works), str(lighting)]},
        )
        assert moved.headers["location"] == "/admin/settings/staff?done=saved"

        own = await staff_id(town, town.admin_email)
        demoted = await admin.post(f"/admin/settings/staff/{own}", {"role": "viewer", "departments": []})
        assert demoted.status_code == 422 and "ask another administrator" in demoted.text
        myself = await admin.post(f"/admin/settings/staff/{own}/active", {"active": "false"})
        assert myself.status_code == 409 and "ask another administrator" in myself.text

        assert (await agent.get("/admin/requests")).status_code == 200
        off = await admin.post(f"/admin/settings/staff/{roads}/active", {"active": "false"})
        assert off.headers["location"] == "/admin/settings/staff?done=deactivated"
        assert (await agent.get("/admin/requests")).headers["location"] == "/admin/login"  # signed out
    async with PortalClient(app, town.host) as agent:
        assert (await agent.login(town.roads_email, town.password)).status_code == 422
    async with await signed_in_admin(app, town) as admin:
        on = await admin.post(f"/admin/settings/staff/{roads}/active", {"active": "true"})
        assert on.headers["location"] == "/admin/settings/staff?done=reactivated"
    async with PortalClient(app, town.host) as agent:
        assert (await agent.login(town.roads_email, town.password)).headers["location"] == "/admin/requests"
    assert await audit_actions(town) == [
        (
            "Ada Admin",
            "staff.changed",
            {"role": "agent", "departments": ["Public Works"]},
            {"role": "supervisor", "departments": ["Public Works", "Street Lighting"]},
        ),
        ("Ada Admin", "staff.deactivated", {"active": True}, {"active": False}),
        ("Ada Admin", "staff.reactivated", {"active": False}, {"active": True}),
    ]


async def test_departments_are_added_and_renamed_in_each_language_with_errors_by_field():
    town = await make_town()
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, town) as admin:
        added = await admin.post(
            "/admin/settings/departments", {"name": "Parks", "name_fr": "Parcs", "email": "Parks@Town.test"}
        )
        assert added.headers["location"] == "/admin/settings/departments?done=added"
        listed = await admin.get("/admin/settings/departments")
        assert "Parks" in listed.text and "parks@town.test" in listed.text
        french = await admin.get("/admin/settings/departments", headers={"accept-language": "fr"})
        assert "Parcs" in french.text
        duplicate = await admin.post("/admin/settings/departments", {"name": "Parks", "email": "nope"})
        assert duplicate.status_code == 422
        assert "Another department already has this name." in duplicate.text
        assert "or leave it empty" in duplicate.text and 'value="nope"' in duplicate.text

        parks = await department_id(town, "parks")
        page = await admin.get(f"/admin/settings/departments/{parks}")
        assert page.status_code == 200 and 'value="Parcs"' in page.text
        empty = await admin.post(f"/admin/settings/departments/{parks}", {"name": "", "name_fr": "Parcs"})
        assert empty.status_code == 422 and "Enter the department's name." in empty.text
        renamed = await admin.post(
            f"/admin/settings/departments/{parks}",
            {"name": "Parks and Recreation", "name_fr": "", "email": "parks@town.test"},
        )
        assert renamed.headers["location"] == "/admin/settings/departments?done=saved"
        keeps_own_name = await admin.post(
            f"/admin/settings/departments/{parks}", {"name": "Parks and Recreation", "email": ""}
        )
        assert keeps_own_name.status_code == 303  # its own name is not "another department's"
        log = (await admin.get("/admin/settings/audit")).text
        assert "Name (fr)" in log and "<del>Parcs</del> → (removed)" in log and "<del>Parks</del> →" in log
        french = (await admin.get("/admin/settings/audit", headers={"accept-language": "fr"})).text
        assert "Service modifié" in french and "Nom (fr)" in french
    assert await department_id(town, "parks") == parks  # the address stays
    actions = await audit_actions(town)
    assert actions[0] == (
        "Ada Admin",
        "department.added",
        {},
        {"name": "Parks", "email": "parks@town.test", "name_fr": "Parcs"},
    )
    assert actions[1] == (
        "Ada Admin",
        "department.changed",
        {"name": "Parks", "name_fr": "Parcs"},
        {"name": "Parks and Recreation"},
    )
    assert actions[2][3] == {"email": ""}


async def test_only_the_towns_administrators_reach_its_settings():
    town = await make_town()
    app = create_app(OFFLINE)
    pages = ["/admin/settings/staff", "/admin/settings/departments", "/admin/settings/audit"]
    async with PortalClient(app, town.host) as anonymous:
        for path in pages:
            assert (await anonymous.get(path)).headers["location"] == "/admin/login"
    for email in (town.roads_email, town.lead_email, town.viewer_email):
        async with PortalClient(app, town.host) as staff:
            await staff.login(email, town.password)
            for path in pages:
                assert (await staff.get(path)).status_code == 403
            refused = await staff.post("/admin/settings/staff", invitation(f"sneak@{town.slug}.test"))
            assert refused.status_code == 403
    async with town.scope.transaction():
        assert not await town.scope.exists(StaffUser).where(StaffUser.email == f"sneak@{town.slug}.test")


async def test_another_towns_people_departments_and_log_are_not_found():
    town, other = await make_town(), await make_town("Othertown")
    their_member = await staff_id(other, other.roads_email)
    their_department = await department_id(other, "lighting")
    app = create_app(OFFLINE)
    async with await signed_in_admin(app, other) as their_admin:
        await their_admin.post("/admin/settings/departments", {"name": "Secret Othertown Unit"})
    async with await signed_in_admin(app, town) as admin:
        assert (await admin.get(f"/admin/settings/staff/{their_member}")).status_code == 404
        changed = await admin.post(
            f"/admin/settings/staff/{their_member}", {"role": "viewer", "departments": []}
        )
        assert changed.status_code == 404
        assert (
            await admin.post(f"/admin/settings/staff/{their_member}/active", {"active": "false"})
        ).status_code == 404
        assert (await admin.post(f"/admin/settings/staff/{their_member}/invitation")).status_code == 404
        assert (await admin.get(f"/admin/settings/departments/{their_department}")).status_code == 404
        renamed = await admin.post(f"/admin/settings/departments/{their_department}", {"name": "Mine now"})
        assert renamed.status_code == 404
        staff_page = await admin.get("/admin/settings/staff")
        assert other.roads_email not in staff_page.text
        log = await admin.get("/admin/settings/audit")
        assert "Secret Othertown Unit" not in log.text and "No change has been made yet." in log.text
    async with PortalClient(app, town.host) as stranger:
        await stranger.login(other.admin_email, other.password)  # their admin, on this town's host
        assert (await stranger.get("/admin/settings/staff")).headers["location"] == "/admin/login"
    async with other.scope.transaction():
        row = (
            await other.scope.select(StaffUser, StaffUser.role, StaffUser.active)
            .where(StaffUser.id == their_member)
            .first()
        )
    assert row == {"role": "agent", "active": True}


async def test_sign_in_settings_changes_are_audited_without_their_secrets():
    town = await make_town()
    app = create_app(OFFLINE)
    async with town.scope.transaction():
        await sign_in.add_provider(
            town.scope,
            "staff",
            "Town login",
            "https://login.example.org",
            "portal",
            "s3cret-value",
            {},
            "",
            "",
        )
    async with await signed_in_admin(app, town) as admin:
        await admin.get("/admin/settings/sign-in")
        unchanged = await admin.post("/admin/settings/sign-in/two-factor", {})  # it was off: not a change
        assert unchanged.status_code == 303
        provider = next(entry for entry in await _providers(town))
        removed = await admin.post(f"/admin/settings/sign-in/providers/{provider.id}/remove")
        assert removed.headers["location"] == "/admin/settings/sign-in?done=removed"
        await admin.post("/admin/settings/sign-in/two-factor", {"required": "on"})  # signs this session out
    actions = await audit_actions(town)
    assert actions == [
        (
            "Ada Admin",
            "sign_in.provider_removed",
            {"audience": "staff", "label": "Town login", "issuer": "https://login.example.org"},
            {},
        ),
        ("Ada Admin", "sign_in.two_factor", {"required": False}, {"required": True}),
    ]
    assert "s3cret-value" not in repr(actions)


async def _providers(town):
    async with town.scope.transaction():
        return await sign_in.all_providers(town.scope)
