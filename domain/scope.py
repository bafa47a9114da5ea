"""Tenant scoping by construction: domain services reach tenant-owned tables only through a TenantScope.

There is no way to build a scope without a tenant id, so a forgotten tenant is an error, never "all rows".
The scope's filters are the first wall; on PostgreSQL, row-level security is the second: queries see a
tenant's rows only inside `scope.transaction()` (see infra.database). The web opens that transaction for
each request (the `tenant_scope` dependency); the worker opens one per step of an activity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from piccolo.querystring import QueryString
from piccolo.table import Table

from infra import database

T = TypeVar("T", bound=Table)


class MissingTenantError(RuntimeError):
    pass


@dataclass(frozen=True)
class TenantScope:
    tenant_id: int

    def __post_init__(self) -> None:
        if not isinstance(self.tenant_id, int) or self.tenant_id <= 0:
            raise MissingTenantError("domain code needs a tenant; none was given")

    def transaction(self):
        """The transaction this tenant's queries run in (joins one already open for it)."""
        return database.tenant_transaction(self.tenant_id)

    def _owned(self, table: type[Table]) -> Any:
        """The condition "belongs to this tenant" (Piccolo adds the columns when the class is made)."""
        return table._meta.get_column_by_name("tenant") == self.tenant_id

    def select(self, table: type[T], *columns: Any):
        return table.select(*columns).where(self._owned(table)).output(load_json=True)

    def objects(self, table: type[T]):
        return table.objects().where(self._owned(table))

    def count(self, table: type[T]):
        return table.count().where(self._owned(table))

    def exists(self, table: type[T]):
        return table.exists().where(self._owned(table))

    def update(self, table: type[T], values: dict):
        return table.update(values).where(self._owned(table))

    def delete(self, table: type[T]):
        return table.delete().where(self._owned(table))

    def new(self, table: type[T], **values: Any) -> T:
        """A row of this tenant, not yet saved."""
        return table(tenant=self.tenant_id, **values)


class _Mark(int):
    """Stands for a value while a query's SQL is composed; found again among its arguments by identity."""


@dataclass(frozen=True)
class _Shape:
    prototype: Any
    query_type: str
    sql: str
    arguments: list[Any]
    # For each argument, which value it takes (0 is the tenant), or None for a constant of the query.
    slots: list[int | None]


class CompiledQuery:
    """A tenant's query whose SQL Piccolo composes once per database; each run binds new values to it.

    For the queries that every step of a lifecycle makes (the whole request record with its joined names,
    the timeline, a move's reads): composing their SQL costs more CPU than the database takes to answer.
    `build(scope, *values)` returns one select or update, the same shape whatever the values, that uses
    each value as given (clean it before, not inside)."""

    def __init__(self, table: type[Table], build: Callable[..., Any]) -> None:
        self._table, self._build = table, build
        self._shapes: dict[str, _Shape] = {}  # by engine type

    def _shape(self, arity: int) -> _Shape:
        engine_type = self._table._meta.db.engine_type
        if shape := self._shapes.get(engine_type):
            return shape
        marks = [_Mark(number + 1) for number in range(arity + 1)]
        prototype = self._build(TenantScope(marks[0]), *marks[1:])
        querystring = prototype.querystrings[0]
        sql, arguments = querystring.compile_string(engine_type=engine_type)
        by_identity = {id(mark): number for number, mark in enumerate(marks)}
        slots = [by_identity.get(id(argument)) for argument in arguments]
        if set(slots) - {None} != set(range(arity + 1)):
            raise ValueError("the query did not take each value as given")
        shape = _Shape(prototype, querystring.query_type, sql, arguments, slots)
        self._shapes[engine_type] = shape
        return shape

    async def rows(self, scope: TenantScope, *values: Any) -> list[dict[str, Any]]:
        shape = self._shape(len(values))
        given = (scope.tenant_id, *values)
        pairs = zip(shape.slots, shape.arguments, strict=True)
        arguments = [argument if slot is None else given[slot] for slot, argument in pairs]
        querystring = QueryString("", query_type=shape.query_type, table=self._table)
        querystring._frozen_compiled_strings = (shape.sql, arguments)  # what Piccolo's freeze() sets
        results = await self._table._meta.db.run_querystring(querystring)
        return await shape.prototype._process_results(results)

    async def first(self, scope: TenantScope, *values: Any) -> dict[str, Any] | None:
        found = await self.rows(scope, *values)
        return found[0] if found else None
