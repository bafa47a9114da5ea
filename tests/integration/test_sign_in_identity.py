"""What a town's sign-in provider says about a person is held to the portal's own rules before it is
stored: the address is mailed later (one naming two recipients, or carrying markup or a NUL, is refused),
and the name is shown on pages and in mail headers."""

import pytest

from domain import sign_in
from domain.tables import Citizen
from infra.oidc import Identity
from tests.support.factories import make_town

PROVIDER = {"group_roles": {}, "email_domains": "town.example", "default_role": "agent"}


def identity(email: str | None, name: str | None = "Pat Doe", verified: bool = True) -> Identity:
    return Identity(subject="s-1", email=email, email_verified=verified, name=name, groups=(), claims={})


@pytest.mark.parametrize(
    "email",
    [
        "root,x@evil.example",
        "<b>x</b>@town.example",
        "pat\x00@town.example",
        "pat@town.example\r\nBcc: x@evil.example",
        '"pat doe"@town.example',
        "pat@evil.example@town.example",
        "",
        None,
    ],
)
async def test_an_address_the_portal_would_not_take_from_a_form_is_refused(email):
    town = await make_town()
    async with town.scope.transaction():
        with pytest.raises(sign_in.SignInRefused):
            await sign_in.citizen(town.scope, identity(email))
        with pytest.raises(sign_in.SignInRefused):
            await sign_in.staff_member(town.scope, PROVIDER, identity(email))
        assert await town.scope.count(Citizen) == 0


def test_a_crafted_address_does_not_fall_into_a_domain_the_town_allows():
    assert sign_in.role_for(PROVIDER, identity("pat@town.example")) == "agent"
    assert sign_in.role_for(PROVIDER, identity("pat@evil.example@town.example")) is None
    assert sign_in.role_for(PROVIDER, identity("x,pat@town.example")) is None


async def test_an_unverified_address_is_refused_and_a_name_loses_its_control_characters():
    town = await make_town()
    async with town.scope.transaction():
        with pytest.raises(sign_in.SignInRefused):
            await sign_in.citizen(town.scope, identity("pat@town.example", verified=False))
        found = await sign_in.citizen(
            town.scope, identity(" Pat@Town.example ", name="Pat\r\nBcc: x\x00 Doe")
        )
        member = await sign_in.staff_member(
            town.scope, PROVIDER, identity("lee@town.example", "L\x07ee" * 60)
        )
    assert found["email"] == "pat@town.example" and found["name"] == "Pat Bcc: x Doe"
    assert member.email == "lee@town.example" and len(member.name) == 200 and "\x07" not in member.name
