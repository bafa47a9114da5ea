"""A tenant is data, not code: onboarding a town is inserting rows, never a deploy."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Row:
    """For the type checker: Piccolo adds the `id` primary key to each table when its class is made."""

    id: Serial


class Tenant(Row, Table, tablename="tenant"):
    slug = Varchar(length=63, unique=True, index=True)
    name = Varchar(length=200)
    # Prefix of the human reference, e.g. SPR in SPR-2026-000123.
    reference_prefix = Varchar(length=8)
    brand_color = Varchar(length=7, default="#1d4f91")
    brand_text_color = Varchar(length=7, default="#ffffff")
    logo_svg = Text(default="")
    timezone = Varchar(length=64, default="UTC")
    # Comma-separated language codes the portal offers, the first being the default.
    languages = Varchar(length=64, default="en,fr")
    contact_email = Varchar(length=254, default="")
    contact_phone = Varchar(length=40, default="")
    # Links the town shows at the foot of every page: [{"label": "Privacy", "url": "https://..."}].
    footer_links = JSON(default="[]")
    # The town's own words for its mails to citizens: {"acknowledgement": {"en": {"subject": "...",
    # "lead": "..."}}}; what is not set keeps the portal's text (domain/mail_texts.py).
    mail_texts = JSON(default="{}")
    # Business calendar for SLA clocks: {"hours": {"mon": ["08:30-16:30"], ...}, "holidays": ["2026-12-25"]}.
    # Empty means Monday to Friday, 08:30 to 16:30, no holidays.
    business_calendar = JSON(default="{}")
    # How long after closure the citizen may say "not fixed" and reopen the request.
    reopen_window_seconds = Integer(default=14 * 24 * 3600)
    # Citizens see who handles their request by name, not only the department.
    show_staff_names = Boolean(default=False)
    # Staff with a local password must also give a code from an authenticator app.
    require_two_factor = Boolean(default=False)
    # Origins allowed to embed the portal in a frame (the town's own website), space-separated.
    embed_origins = Text(default="")
    active = Boolean(default=True)
    # Until its administrator switches it live, the public sees "coming soon" and only its staff the portal.
    live = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class TenantDomain(Row, Table, tablename="tenant_domain"):
    """A custom host name (e.g. 311.springfield.gov) that resolves to its tenant."""

    tenant = ForeignKey(references=Tenant, null=False, on_delete=OnDelete.cascade, db_column_name="tenant_id")
    host = Varchar(length=253, unique=True, index=True)
    # The town proves the name is its own by publishing this token at VERIFICATION_PATH on it; until
    # then the name answers nothing.
    verification_token = Varchar(length=64, default="")
    verified_at = Timestamptz(null=True, default=None)


class PlatformAdmin(Row, Table, tablename="platform_admin"):
    """Runs the installation: onboards towns. Belongs to no town and sees no town's requests."""

    email = Varchar(length=254, unique=True)
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=255)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
