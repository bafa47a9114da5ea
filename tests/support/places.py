"""A test town with a map: Springfield's demo streets, address points and boundary (tenants/demo/)."""

from __future__ import annotations

from apps.demo import seed_places


async def load_demo_places(town) -> None:
    """Loads Springfield's demo gazetteer and boundary into `town` (a TestTown, or anything with a
    `scope`), as its administrator would import them; a town that has a gazetteer keeps it."""
    await seed_places(town.scope, "springfield")
