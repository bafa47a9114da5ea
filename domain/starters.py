"""Starter catalogues: the departments and request types a new town begins with, chosen by its kind
(small town, city, county). They are data files in tenants/starters/; the town then adapts them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tenants
from domain import catalog, question_settings
from domain.scope import TenantScope

STARTER_DIR = Path(tenants.__file__).parent / "starters"
HOUR = 3600


@dataclass(frozen=True)
class Starter:
    kind: str
    label: dict[str, str]  # language -> text
    description: dict[str, str]
    departments: list[dict]
    types: list[dict]

    def text(self, field: str, language: str) -> str:
        texts = getattr(self, field)
        return texts.get(language) or texts["en"]


@cache
def starters() -> dict[str, Starter]:
    found = {}
    for path in sorted(STARTER_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[path.stem] = Starter(kind=path.stem, **data)
    return found


async def seed(scope: TenantScope, kind: str, languages: tuple[str, ...]) -> None:
    """The starter's departments and types with their questions, named in the town's first language and
    translated into the others the starter has."""
    starter = starters()[kind]
    first, others = languages[0], languages[1:]

    def named(texts: dict[str, str]) -> str:
        return texts.get(first) or texts["en"]

    department_ids = {}
    for department in starter.departments:
        names = department["name"]
        translations = {language: names[language] for language in others if language in names}
        department_ids[department["slug"]] = await catalog.add_department(
            scope, department["slug"], named(names), "", translations
        )
    for order, entry in enumerate(starter.types):
        # Every language's notices, the first language's first (the form falls back on the first stored).
        localised: dict[str, dict[str, str]] = {first: {}}
        for language in others:
            if language in entry["name"]:
                names = {"category": entry["category"][language], "name": entry["name"][language]}
                localised[language] = names
        emergency = entry.get("emergency") or {}
        notices = {
            "emergency_message": emergency.get("message", {}),
            "after_hours_notice": entry.get("after_hours_notice", {}),
        }
        for notice, texts in notices.items():
            for language in (first, *others):
                if text := texts.get(language) or (texts.get("en") if language == first else ""):
                    localised.setdefault(language, {})[notice] = text
        await catalog.add_request_type(
            scope,
            entry["code"],
            department_ids[entry["department"]],
            category=named(entry["category"]),
            name=named(entry["name"]),
            needs_location=entry["needs_location"],
            sort_order=order,
            translations={language: texts for language, texts in localised.items() if texts},
            target_seconds=entry["hours"] * HOUR,
            target_business=entry["business_hours"],
            emergency=bool(emergency),
            emergency_phone=emergency.get("phone", ""),
        )
        await question_settings.add_from_data(scope, entry["code"], entry.get("questions", []), languages)
