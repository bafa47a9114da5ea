"""How a town presents itself: its name, colours, logo, public contact and footer links, as its
administrators set them. Colours that fail WCAG AA contrast are refused, and a logo is never trusted:
an SVG is rebuilt from an allowlist of drawing elements, a PNG or JPEG is re-encoded by Pillow."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from xml.etree import ElementTree

from domain import audit
from domain.audit import Actor
from domain.intake import BAD_EMAIL, valid_email
from domain.scope import TenantScope
from infra import images
from infra.i18n import N_, gettext
from tenants.tables import Tenant

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
PHONE = re.compile(r"^[0-9+()., -]{3,30}(?: ?(?:ext|x|poste)\.? ?[0-9]{1,6})?$", re.IGNORECASE)
# WCAG 2.1 AA for normal text: the header's links are small.
MIN_CONTRAST = 4.5
MAX_FOOTER_LINKS = 8
MAX_LOGO_BYTES = 500_000
LOGO_SIDE = 256  # pixels: a header logo is drawn at 40 CSS pixels, 256 stays sharp on any screen

BAD_NAME = N_("Enter the municipality's name, at most 200 characters.")
BAD_COLOR = N_("Enter a colour as # followed by six hexadecimal digits, such as #1d4f91.")
LOW_CONTRAST = N_(
    "The text colour on the header colour has a contrast of %(ratio)s to 1; WCAG AA asks for at least "
    "4.5 to 1. Choose a darker header colour or a lighter text colour (or the other way round)."
)
BAD_PHONE = N_("Enter a phone number such as 555-0100 or +1 555 555 0100 ext. 12.")
BAD_LINKS = N_(
    "Write one link per line as Label | https://address, at most eight links and 80 characters a label."
)
BAD_LOGO = N_(
    "Upload an SVG drawing, or a PNG or JPEG image, of at most 500 KB. The file could not be read as one."
)

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
# Drawing only: no script, no foreignObject, no animation, no image (which could load another address).
SVG_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "path",
        "circle",
        "ellipse",
        "rect",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "title",
        "desc",
        "defs",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "symbol",
        "use",
    ]
)
SVG_ATTRIBUTES = frozenset(
    [
        "viewBox",
        "width",
        "height",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "d",
        "points",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "opacity",
        "clip-path",
        "clip-rule",
        "mask",
        "id",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "fx",
        "fy",
        "preserveAspectRatio",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "letter-spacing",
        "dx",
        "dy",
        "href",
    ]
)
TEXT_ELEMENTS = frozenset(f"{{{SVG}}}{name}" for name in ("text", "tspan", "title", "desc"))
# Inside a value only references to the drawing's own parts are allowed: `url(#gradient)`, `#shape`.
FOREIGN_REFERENCE = re.compile(r"url\(\s*['\"]?(?!#)|javascript:|data:|expression\(", re.IGNORECASE)


@dataclass(frozen=True)
class Branding:
    name: str
    brand_color: str
    brand_text_color: str
    contact_email: str
    contact_phone: str
    footer_links: str  # as typed: one "Label | address" per line


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1's contrast ratio between two #rrggbb colours, from 1 to 21."""

    def luminance(color: str) -> float:
        channels = [int(color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def links_text(links: list[dict]) -> str:
    return "\n".join(f"{link['label']} | {link['url']}" for link in links)


def parse_links(text: str) -> list[dict] | None:
    links = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        label, bar, url = (part.strip() for part in line.partition("|"))
        if not bar or not label or len(label) > 80 or not re.match(r"^https?://[^\s<>\"]+$", url):
            return None
        links.append({"label": label, "url": url[:500]})
    return links if len(links) <= MAX_FOOTER_LINKS else None


def problems(values: Branding) -> dict[str, str]:
    """Messages by field. The contrast message is translated here, since it carries the ratio."""
    errors: dict[str, str] = {}
    if not values.name or len(values.name) > 200:
        errors["name"] = BAD_NAME
    for field in ("brand_color", "brand_text_color"):
        if not HEX_COLOR.match(getattr(values, field)):
            errors[field] = BAD_COLOR
    if not errors.keys() & {"brand_color", "brand_text_color"}:
        ratio = contrast_ratio(values.brand_color, values.brand_text_color)
        if ratio < MIN_CONTRAST:
            errors["brand_text_color"] = gettext(LOW_CONTRAST) % {"ratio": f"{ratio:.2f}"}
    if values.contact_email and not valid_email(values.contact_email):
        errors["contact_email"] = BAD_EMAIL
    if values.contact_phone and not PHONE.match(values.contact_phone):
        errors["contact_phone"] = BAD_PHONE
    if parse_links(values.footer_links) is None:
        errors["footer_links"] = BAD_LINKS
    return errors


async def current(scope: TenantScope) -> Branding:
    row = (
        await Tenant.select(
            Tenant.name,
            Tenant.brand_color,
            Tenant.brand_text_color,
            Tenant.contact_email,
            Tenant.contact_phone,
            Tenant.footer_links,
        )
        .where(Tenant.id == scope.tenant_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise LookupError(f"tenant {scope.tenant_id} no longer exists")
    return Branding(**{**row, "footer_links": links_text(row["footer_links"] or [])})


async def save(scope: TenantScope, actor: Actor, values: Branding) -> None:
    """The caller has checked `problems` first."""
    before = await current(scope)
    await Tenant.update(
        {
            Tenant.name: values.name,
            Tenant.brand_color: values.brand_color.lower(),
            Tenant.brand_text_color: values.brand_text_color.lower(),
            Tenant.contact_email: values.contact_email,
            Tenant.contact_phone: values.contact_phone,
            Tenant.footer_links: parse_links(values.footer_links) or [],
        }
    ).where(Tenant.id == scope.tenant_id)
    changed_before, changed_after = audit.changed(vars(before), vars(values))
    if changed_before or changed_after:
        await audit.record(scope, actor, "branding.changed", "", changed_before, changed_after)


async def save_logo(scope: TenantScope, actor: Actor, logo_svg: str, file_name: str) -> None:
    await Tenant.update({Tenant.logo_svg: logo_svg}).where(Tenant.id == scope.tenant_id)
    await audit.record(scope, actor, "branding.logo", file_name, after={"logo": file_name})


def logo_from_upload(content: bytes) -> str | None:
    """The logo as SVG markup the portal can put inline in its pages and receipts, or None."""
    if not content or len(content) > MAX_LOGO_BYTES:
        return None
    if content.lstrip()[:1] == b"<":
        return sanitized_svg(content)
    try:
        picture, media_type = images.clean_photo(content, side=LOGO_SIDE)
    except images.BadImage:
        return None
    if media_type not in ("image/png", "image/jpeg"):
        return None
    from PIL import Image

    with Image.open(io.BytesIO(picture)) as image:
        width, height = image.size
    encoded = base64.b64encode(picture).decode()
    # The page's policy allows data: images; a raster inside an SVG keeps one column and one way to draw.
    return (
        f'<svg xmlns="{SVG}" viewBox="0 0 {width} {height}" role="img" aria-hidden="true">'
        f'<image href="data:{media_type};base64,{encoded}" width="{width}" height="{height}"/></svg>'
    )


def sanitized_svg(content: bytes) -> str | None:
    """The drawing rebuilt from allowed elements and attributes only; None if it is not an SVG."""
    from defusedxml import ElementTree as SafeTree  # refuses entities and DTDs: no billion laughs

    try:
        root = SafeTree.fromstring(content, forbid_dtd=True)
    except Exception:  # noqa: BLE001 - malformed, or refused by defusedxml: not a logo either way
        return None
    if root.tag != f"{{{SVG}}}svg":
        return None
    clean = _copy(root)
    clean.set("role", "img")
    clean.set("aria-hidden", "true")
    ElementTree.register_namespace("", SVG)
    return ElementTree.tostring(clean, encoding="unicode")


def _copy(element: ElementTree.Element) -> ElementTree.Element:
    copy = ElementTree.Element(element.tag)
    for name, value in element.attrib.items():
        local = name.removeprefix(f"{{{XLINK}}}")
        if local not in SVG_ATTRIBUTES or FOREIGN_REFERENCE.search(value):
            continue
        if local == "href" and not value.startswith("#"):
            continue
        copy.set(local, value)
    holds_text = element.tag in TEXT_ELEMENTS
    copy.text = element.text if holds_text else None
    for child in element:
        namespace, _, local = child.tag.rpartition("}")
        if namespace == f"{{{SVG}" and local in SVG_ELEMENTS:
            kept = _copy(child)
            kept.tail = child.tail if holds_text else None
            copy.append(kept)
    return copy
