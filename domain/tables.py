"""Tenant-owned tables. Every one carries a non-null tenant_id; read them through domain.scope only."""

from piccolo.columns import (
    JSON,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tenants.tables import Row, Tenant


def tenant_column(index: bool = True) -> ForeignKey:
    """`index=False` where a composite index leads with tenant_id (or nothing reads the table by town
    alone): one more index is one more write on every insert."""
    return ForeignKey(
        references=Tenant, null=False, on_delete=OnDelete.cascade, db_column_name="tenant_id", index=index
    )


class Department(Row, Table, tablename="department"):
    tenant = tenant_column(index=False)
    slug = Varchar(length=63)
    name = Varchar(length=200)
    email = Varchar(length=254, default="")
    # Localised names keyed by language code, e.g. {"fr": "Travaux publics"}.
    translations = JSON(default="{}")


class StaffUser(Row, Table, tablename="staff_user"):
    tenant = tenant_column(index=False)
    email = Varchar(length=254)
    name = Varchar(length=200)
    password_hash = Varchar(length=255, default="")
    # tenant_admin | supervisor | agent | viewer (see domain.permissions)
    role = Varchar(length=20, default="agent")
    active = Boolean(default=True)
    language = Varchar(length=8, default="en")
    # Two-factor sign-in for local accounts: a TOTP secret, used once the member has confirmed a code.
    totp_secret = Varchar(length=64, default="")
    totp_enabled = Boolean(default=False)
    # Set with a one-time password: the next sign-in asks for a password of the member's own.
    must_change_password = Boolean(default=False)
    # The time step of the last code accepted: a code is good once, even within its validity window.
    totp_last_step = Integer(default=0)
    # Round-robin assignment picks the agent who has waited longest for a request.
    last_assigned_at = Timestamptz(null=True, default=None)
    # An invitation not yet accepted: a hash of the mailed link's token, good until `invited_until`.
    invitation_hash = Varchar(length=64, default="")
    invited_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class StaffDepartment(Row, Table, tablename="staff_department"):
    """Departments a member of staff works for: agents and supervisors see and act on these only."""

    tenant = tenant_column()
    staff = ForeignKey(references=StaffUser, null=False, on_delete=OnDelete.cascade)
    department = ForeignKey(references=Department, null=False, on_delete=OnDelete.cascade)


class RequestType(Row, Table, tablename="request_type"):
    tenant = tenant_column(index=False)
    code = Varchar(length=63)
    category = Varchar(length=100)
    name = Varchar(length=200)
    description = Text(default="")
    department = ForeignKey(references=Department, null=True, on_delete=OnDelete.set_null)
    needs_location = Boolean(default=False)
    active = Boolean(default=True)
    sort_order = Integer(default=0)
    # {"fr": {"category": "...", "name": "...", "description": "..."}}
    translations = JSON(default="{}")
    # Service level, all durations in seconds (data, so tests run whole lifecycles in seconds).
    # Target to resolve: business time on the tenant's calendar, or calendar time ("30 days").
    target_seconds = Integer(null=True, default=None)
    target_business = Boolean(default=True)
    # Unassigned for this long (business time): remind the department; then escalate after a further time.
    assign_within_seconds = Integer(null=True, default=None)
    escalate_after_seconds = Integer(null=True, default=None)
    # Remind the assignee this long before the due time; escalate this long after it.
    remind_before_seconds = Integer(null=True, default=None)
    overdue_escalate_seconds = Integer(null=True, default=None)
    # Waiting on the citizen (calendar time): remind them, then close the request.
    citizen_remind_seconds = Integer(null=True, default=None)
    citizen_close_seconds = Integer(null=True, default=None)
    # manual | default (the default assignee) | round_robin (among the department's agents)
    assignment_mode = Varchar(length=16, default="manual")
    default_assignee = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    # Its requests are open data (Open311 GET, no key): a pothole is; a tax question is not.
    published = Boolean(default=False)
    # Its requests' events go out to the town's maintenance system (webhook subscriptions).
    send_to_maintenance = Boolean(default=False)
    # Open requests of the type this close to a new one's place are shown before it is sent; 0: none.
    nearby_metres = Integer(default=50)
    # An emergency type shows its message (in `translations`: "emergency_message") and this number
    # instead of a submit button; its message says what to do now.
    emergency = Boolean(default=False)
    emergency_phone = Varchar(length=40, default="")


class RoutingRule(Row, Table, tablename="routing_rule"):
    """Overrides a type's department (and assignee) by keyword or by area; the lowest position wins."""

    tenant = tenant_column(index=False)
    position = Integer(default=0)
    request_type = ForeignKey(references=RequestType, null=True, on_delete=OnDelete.cascade)
    # Matches when the description or address contains it (case-insensitive); empty matches all.
    keyword = Varchar(length=100, default="")
    # A bounding box; matches only requests with coordinates inside it. All empty: any place.
    min_latitude = Real(null=True, default=None)
    max_latitude = Real(null=True, default=None)
    min_longitude = Real(null=True, default=None)
    max_longitude = Real(null=True, default=None)
    department = ForeignKey(references=Department, null=False, on_delete=OnDelete.cascade)
    assignee = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)


class ServiceRequest(Row, Table, tablename="service_request"):
    tenant = tenant_column(index=False)
    reference = Varchar(length=32)
    request_type = ForeignKey(references=RequestType, null=False, on_delete=OnDelete.restrict)
    department = ForeignKey(references=Department, null=True, on_delete=OnDelete.set_null)
    assignee = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    status = Varchar(length=24, default="submitted")
    description = Text()
    address = Varchar(length=300, default="")
    latitude = Real(null=True, default=None)
    longitude = Real(null=True, default=None)
    contact_name = Varchar(length=200)
    contact_email = Varchar(length=254)
    contact_phone = Varchar(length=40, default="")
    language = Varchar(length=8, default="en")
    close_reason = Varchar(length=32, default="")
    duplicate_of = Varchar(length=32, default="")
    # Unguessable key of the citizen's status page; references are sequential and so guessable.
    public_token = Varchar(length=43, unique=True)
    # From the form, so a double click or a retried post makes one request; unique per town (migration 0015).
    idempotency_key = Varchar(length=64)
    workflow_started = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    # Expected completion, shown to the citizen; the workflow keeps it current as the SLA clock runs.
    due_at = Timestamptz(null=True, default=None)
    # Until when the citizen may reopen a closed request.
    reopen_until = Timestamptz(null=True, default=None)
    # What fires next (deadline name -> ISO time) as the workflow worked it out at the last move (0018).
    upcoming = JSON(default="{}")
    # The maintenance system's number for the work order it opened for this request.
    work_order = Varchar(length=64, default="")
    # The type's questions as asked and answered, in the request's language: [{code, question, answer,
    # value}] (domain/questions.py). A later change of the questions does not rewrite what was answered.
    answers = JSON(default="[]")
    # Citizens who said "me too" instead of sending the same request again (domain/nearby.py).
    supporters = Integer(default=0)


class RequestFollower(Row, Table, tablename="request_follower"):
    """Someone told of a request's public steps besides its author, e.g. the author of a duplicate."""

    tenant = tenant_column()
    request = ForeignKey(references=ServiceRequest, null=False, on_delete=OnDelete.cascade)
    email = Varchar(length=254)
    language = Varchar(length=8, default="en")
    # Said "me too": counted in the request's supporters.
    supporter = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class RequestEvent(Row, Table, tablename="request_event"):
    """One line of a request's timeline. Public lines are shown to the citizen; internal ones to staff."""

    tenant = tenant_column(index=False)
    request = ForeignKey(references=ServiceRequest, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=24)
    from_status = Varchar(length=24, default="")
    to_status = Varchar(length=24, default="")
    actor_kind = Varchar(length=12, default="system")
    actor = ForeignKey(references=StaffUser, null=True, on_delete=OnDelete.set_null)
    body = Text(default="")
    public = Boolean(default=True)
    # Set by the workflow for each action, so an activity retried after a crash writes one line.
    action_key = Varchar(length=80, null=True, default=None, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Citizen(Row, Table, tablename="citizen"):
    """A citizen who signed in with their e-mail address. Their requests are those made with that address."""

    tenant = tenant_column(index=False)
    email = Varchar(length=254)
    name = Varchar(length=200, default="")
    phone = Varchar(length=40, default="")
    language = Varchar(length=8, default="en")
    # False: mail only what needs them (acknowledgement, questions, closure), not every update.
    notify_each_step = Boolean(default=True)
    verified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class SignInLink(Row, Table, tablename="sign_in_link"):
    """A single-use, short-lived sign-in link; only a hash of its token is kept."""

    tenant = tenant_column()
    email = Varchar(length=254)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class SignInProvider(Row, Table, tablename="sign_in_provider"):
    """A town's OpenID Connect provider, for its staff (single sign-on) or its citizens (a digital ID)."""

    tenant = tenant_column()
    # staff | citizen
    audience = Varchar(length=10)
    label = Varchar(length=100)
    issuer = Varchar(length=300)
    client_id = Varchar(length=200)
    client_secret = Varchar(length=300)
    scopes = Varchar(length=200, default="openid email profile")
    # Staff only: the provider's groups -> a role ({"311-admins": "tenant_admin", ...}), and the e-mail
    # domains whose people may sign in with `default_role` when no group says otherwise.
    group_roles = JSON(default="{}")
    email_domains = Text(default="")
    default_role = Varchar(length=20, default="")
    active = Boolean(default=True)


class ReferenceCounter(Row, Table, tablename="reference_counter"):
    tenant = tenant_column(index=False)
    year = Integer()
    last_value = Integer(default=0)


class Document(Row, Table, tablename="document"):
    """Generated files (PDF receipts) kept in the database, so every web and worker process can serve them."""

    tenant = tenant_column()
    request = ForeignKey(references=ServiceRequest, null=False, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=24)
    filename = Varchar(length=120)
    content_type = Varchar(length=80, default="application/pdf")
    content = Bytea()
    # Where the file is kept (infra/storage.py) when not in `content`, which is then empty.
    storage_key = Varchar(length=200, default="")
    thumbnail_key = Varchar(length=200, default="")
    # What a photo shows, for people who cannot see it; written by the citizen.
    alt_text = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Notification(Row, Table, tablename="notification"):
    """The mail outbox: one row per message, keyed so a retried activity never sends twice."""

    tenant = tenant_column()
    key = Varchar(length=120, unique=True)
    recipient = Varchar(length=254)
    subject = Varchar(length=300, default="")
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AuditEntry(Row, Table, tablename="audit_entry"):
    """A change to the town's configuration: who made it, when, and the values before and after."""

    tenant = tenant_column(index=False)
    # The member's id and name as they were: an entry outlives a renamed or deactivated account.
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=200, default="")
    action = Varchar(length=60)
    subject = Varchar(length=300, default="")
    before = JSON(default="{}")
    after = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


class ApiKey(Row, Table, tablename="api_key"):
    """A town's key for its integrations; only a hash of it is kept, so it is shown once, when made."""

    tenant = tenant_column(index=False)
    name = Varchar(length=100)
    # The key's first characters, so a list can tell keys apart without holding them.
    prefix = Varchar(length=16)
    key_hash = Varchar(length=64, unique=True)
    # Comma-separated: read, submit, work_orders (domain/api_keys.py)
    scopes = Varchar(length=100, default="read")
    created_by = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class WebhookSubscription(Row, Table, tablename="webhook_subscription"):
    """Where the town's maintenance system hears of its requests' events (Standard Webhooks)."""

    tenant = tenant_column(index=False)
    name = Varchar(length=100)
    url = Varchar(length=500)
    # Comma-separated event types (domain/webhooks.py EVENTS).
    events = Text(default="")
    # The signing secret, `whsec_` and base64: kept as is, since every delivery is signed with it.
    secret = Varchar(length=100)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Row, Table, tablename="webhook_delivery"):
    """One event for one subscription, written in the same transaction as the move it tells of, and
    delivered in order per request and subscription, at least once, always under the same `message_id`."""

    tenant = tenant_column(index=False)
    subscription = ForeignKey(references=WebhookSubscription, null=False, on_delete=OnDelete.cascade)
    request = ForeignKey(references=ServiceRequest, null=True, on_delete=OnDelete.cascade)
    event = Varchar(length=40)
    message_id = Varchar(length=40, unique=True)
    # The signed body, as it was at the event: a later change of the request does not rewrite history.
    payload = Text()
    # pending | delivered | failed
    state = Varchar(length=12, default="pending")
    attempts = Integer(default=0)
    response_status = Integer(null=True, default=None)
    response_excerpt = Varchar(length=500, default="")
    error = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_attempt_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)


class RequestQuestion(Row, Table, tablename="request_question"):
    """One question a type asks, of an Open311 datatype (domain/questions.py KINDS), in the town's
    languages; it may be asked only when an earlier question has a given answer."""

    tenant = tenant_column(index=False)
    request_type = ForeignKey(references=RequestType, null=False, on_delete=OnDelete.cascade)
    code = Varchar(length=63)
    kind = Varchar(length=20, default="string")
    required = Boolean(default=False)
    position = Integer(default=0)
    # {language: {"prompt": ..., "hint": ...}}
    texts = JSON(default="{}")
    # [{"key": ..., "names": {language: ...}}] for the two list kinds
    choices = JSON(default="[]")
    shown_when_code = Varchar(length=63, default="")
    shown_when_value = Varchar(length=63, default="")


class Place(Row, Table, tablename="place"):
    """The town's gazetteer: an address point or a street, imported by its administrator; searched when
    citizens type an address, and the nearest one named when they drop a pin. A street keeps its line so
    the map can draw the town with no tile server."""

    tenant = tenant_column(index=False)
    kind = Varchar(length=8, default="address")  # address | street
    label = Varchar(length=300)
    number = Varchar(length=20, default="")
    street = Varchar(length=200, default="")
    locality = Varchar(length=100, default="")
    postcode = Varchar(length=20, default="")
    # The label made searchable (domain/places.py normalised): lower case, no accents, "St" -> "street"
    search_text = Varchar(length=400, default="")
    latitude = Real(null=True, default=None)
    longitude = Real(null=True, default=None)
    # A street's GeoJSON geometry (LineString or MultiLineString); {} for an address
    geometry = JSON(default="{}")


class TownMap(Row, Table, tablename="town_map"):
    """A town's area and how its map is drawn: the boundary that locations must fall in, an optional tile
    server and an optional outside geocoder (tried only when the gazetteer finds nothing)."""

    tenant = tenant_column(index=False)
    boundary = JSON(default="{}")  # GeoJSON Polygon or MultiPolygon; {} accepts any place
    min_latitude = Real(null=True, default=None)
    max_latitude = Real(null=True, default=None)
    min_longitude = Real(null=True, default=None)
    max_longitude = Real(null=True, default=None)
    tile_url = Varchar(length=300, default="")
    tile_attribution = Varchar(length=300, default="")
    geocoder_url = Varchar(length=300, default="")
    updated_at = Timestamptz(default=TimestamptzNow())
