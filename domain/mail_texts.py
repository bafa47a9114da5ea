"""A town's own words in its mails to citizens: per event and language, a subject and the opening
sentence, written with variables in braces ({reference}, {name}...). The rest of each mail (the staff's
message, the details, the links) always follows, so a town cannot leave out what a citizen needs. What a
town has not written keeps the portal's translated text."""

from __future__ import annotations

import string
from typing import Any

from domain import audit
from domain.audit import Actor
from domain.scope import TenantScope
from infra.i18n import N_
from tenants.tables import Tenant

# The citizen mails, in the order a request meets them.
EVENTS = {
    "acknowledgement": N_("Request received"),
    "question": N_("Question to the citizen"),
    "waiting_reminder": N_("Reminder to answer"),
    "update": N_("Public update"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed, with the receipt"),
    "cancelled": N_("Cancelled by the citizen"),
}
FIELDS = ("subject", "lead")
VARIABLES = {
    "reference": N_("the request's reference, e.g. SPR-2026-000123"),
    "name": N_("the citizen's name"),
    "type": N_("the type of request, e.g. Pothole"),
    "town": N_("the municipality's name"),
    "status_url": N_("the address of the request's status page"),
}
SAMPLE = {
    "reference": "SPR-2026-000123",
    "name": "Ned Flanders",
    "type": "Pothole",
    "status_url": "https://311.town.example/status/…",
}
MAX_LENGTH = {"subject": 200, "lead": 1000}
BAD_VARIABLES = N_(
    "Use only the variables listed, each in braces like {reference}; write a brace itself as {{ or }}."
)
TOO_LONG = N_("At most 200 characters for a subject, 1000 for an opening sentence.")
ONE_LINE = N_("A subject is one line.")


def problem(field: str, text: str) -> str | None:
    if len(text) > MAX_LENGTH[field]:
        return TOO_LONG
    if field == "subject" and ("\n" in text or "\r" in text):
        return ONE_LINE
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return BAD_VARIABLES
    for _, name, spec, conversion in parts:
        if name is not None and (name not in VARIABLES or spec or conversion):
            return BAD_VARIABLES
    return None


def render(text: str, values: dict[str, Any]) -> str:
    """The town's text with its variables filled in; `problem` has accepted it."""
    return text.format_map({name: values.get(name, "") for name in VARIABLES})


def chosen(texts: dict, event: str, language: str) -> dict[str, str]:
    """What the town wrote for this mail in this language (empty fields left out)."""
    written = (texts or {}).get(event, {}).get(language, {})
    return {field: written[field] for field in FIELDS if written.get(field)}


async def current(scope: TenantScope) -> dict[str, Any]:
    row = (
        await Tenant.select(Tenant.mail_texts)
        .where(Tenant.id == scope.tenant_id)
        .output(load_json=True)
        .first()
    )
    return (row or {}).get("mail_texts") or {}


async def save(scope: TenantScope, actor: Actor, event: str, typed: dict[str, dict[str, str]]) -> None:
    """`typed`: language -> field -> text, checked by `problem`; empty texts go back to the portal's."""
    texts = await current(scope)
    before = texts.get(event, {})
    after = {
        language: {field: text for field, text in fields.items() if text}
        for language, fields in typed.items()
        if any(fields.values())
    }
    texts = (
        {**texts, event: after} if after else {name: value for name, value in texts.items() if name != event}
    )
    await Tenant.update({Tenant.mail_texts: texts}).where(Tenant.id == scope.tenant_id)
    flat_before = {f"{field}_{language}": text for language, f in before.items() for field, text in f.items()}
    flat_after = {f"{field}_{language}": text for language, f in after.items() for field, text in f.items()}
    changed_before, changed_after = audit.changed(flat_before, flat_after)
    if changed_before or changed_after:
        await audit.record(scope, actor, "mail.changed", event, changed_before, changed_after)
