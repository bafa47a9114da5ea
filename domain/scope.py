"""Tenant scoping by construction: domain services reach tenant-owned tables only through a TenantScope.

There is no way to build a scope without a tenant id, so a forgotten tenant is an error, never "all rows".
The scope's filters are the first wall; on PostgreSQL, row-level security is the second: queries see a
tenant's rows only inside `scope.transaction()` (see infra.database). The web opens that transaction for
each request (the `tenant_scope` dependency); the worker opens one per step of an activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

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
