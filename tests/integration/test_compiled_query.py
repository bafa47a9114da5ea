"""A compiled query answers as the Piccolo query it was composed from, for the scope's town alone."""

from __future__ import annotations

import pytest

from domain import requests
from domain.requests import select_requests
from domain.scope import CompiledQuery
from domain.tables import ServiceRequest
from tests.support.factories import make_town, many_requests


async def test_each_run_binds_its_own_values_and_the_records_match_piccolos():
    town = await make_town()
    await many_requests(town, 3)
    async with town.scope.transaction():
        rows = await town.scope.select(ServiceRequest, ServiceRequest.id, ServiceRequest.reference)
        for row in rows:
            expected = await select_requests(town.scope).where(ServiceRequest.id == row["id"]).first()
            record = await requests.get_by_id(town.scope, row["id"])
            assert record is not None and record.reference == row["reference"]
            assert await requests._BY_ID.first(town.scope, row["id"]) == expected
            by_reference = await requests.get_by_reference(town.scope, f" {row['reference'].lower()} ")
            assert by_reference == record
        # JSON columns come back loaded, as from Piccolo's own select.
        assert isinstance(record.upcoming, dict)


async def test_another_towns_scope_finds_nothing_by_the_same_values():
    town, other = await make_town(), await make_town()
    await many_requests(town, 1)
    async with town.scope.transaction():
        row = await town.scope.select(ServiceRequest, ServiceRequest.id, ServiceRequest.reference).first()
        assert await requests.get_by_id(town.scope, row["id"]) is not None
    async with other.scope.transaction():
        assert await requests.get_by_id(other.scope, row["id"]) is None
        assert await requests.get_by_reference(other.scope, row["reference"]) is None


async def test_a_query_that_changes_its_values_while_composed_is_refused():
    """The SQL is composed once, so a value cleaned inside the query would be cleaned only that once."""
    shouting = CompiledQuery(
        ServiceRequest,
        lambda scope, reference: select_requests(scope).where(ServiceRequest.reference == str(reference)),
    )
    town = await make_town()
    async with town.scope.transaction():
        with pytest.raises(ValueError, match="each value as given"):
            await shouting.first(town.scope, "SPR-2026-000001")
