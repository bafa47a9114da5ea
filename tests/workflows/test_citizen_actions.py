"""What a signed-in citizen can do from a request: comment, add a photo, follow someone else's."""

import io

import pytest
from PIL import Image

from tests.integration.test_citizen_accounts import sign_in
from tests.support.factories import make_town
from tests.support.portal import PortalClient
from tests.workflows.lifecycle_helpers import about, submit, text_of, wait_status

pytestmark = pytest.mark.usefixtures("worker")


def png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(output, "PNG")
    return output.getvalue()


async def test_the_author_comments_and_adds_a_photo_and_a_neighbour_follows(app, inbox):
    town = await make_town()
    author, neighbour = f"author@{town.slug}.example", f"neighbour@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen, PortalClient(app, town.host) as other:
        path = await submit(citizen, contact_email=author)
        reference = (await wait_status(town, path, "routed")).reference
        anonymous = await citizen.post(path + "/comment", {"body": "Deeper now"})
        assert anonymous.headers["location"] == "/account/sign-in"
        await sign_in(citizen, inbox, author)
        async with PortalClient(app, town.host) as clerk:
            await clerk.login(town.roads_email, town.password)
            await clerk.act(reference, "assign")
        commented = await citizen.post(path + "/comment", {"body": "It is twice as deep since Monday."})
        assert commented.status_code == 303
        told = await inbox.wait_for(about(town.roads_email, "added a comment"))
        assert "twice as deep" in text_of(told)
        bad = await citizen.http.post(
            path + "/photo", data={"_csrf_token": citizen._csrf}, files={"photo": ("x.png", b"not an image")}
        )
        assert bad.status_code == 409 and "JPEG, PNG or WebP" in bad.text
        good = await citizen.http.post(
            path + "/photo",
            data={"_csrf_token": citizen._csrf},
            files={"photo": ("hole.png", png(), "image/png")},
        )
        assert good.status_code == 303
        page = (await citizen.get(path)).text
        assert "Photo added" in page and "twice as deep" in page
        image = await citizen.get(page.split('<img src="')[1].split('"')[0])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).getpixel((0, 0)) == (200, 40, 40)

        await sign_in(other, inbox, neighbour)
        refused = await other.post(path + "/comment", {"body": "Me too"})
        assert refused.status_code == 409 and "Only the person who made this request" in refused.text
        assert (await other.post(path + "/follow")).status_code == 303
        assert "Stop following this request" in (await other.get(path)).text
        async with PortalClient(app, town.host) as clerk:
            await clerk.login(town.roads_email, town.password)
            await clerk.act(reference, "comment", body="Crew on Thursday.", public="on")
            news = await inbox.wait_for(about(neighbour, "News about"))
            assert "Crew on Thursday." in text_of(news)
            assert (await other.post(path + "/unfollow")).status_code == 303
            await clerk.act(reference, "comment", body="Crew delayed.", public="on")
            await inbox.wait_for(lambda m: m["to"] == author and "Crew delayed." in text_of(m))
        assert not any("Crew delayed." in text_of(m) for m in inbox.matching(lambda m: m["to"] == neighbour))
