"""The project-wide records of the Storage interface that the pooling
facade keeps with the catalog, on the default storage: ownership entries
(:meth:`~bridge.storage.base.Storage.record_owners`) and quota overrides
(:meth:`~bridge.storage.base.Storage.set_quota`). They belong to no queue,
so they have no pool; every process reads them from the one place."""

from __future__ import annotations

from typing import Sequence

from bridge.storage import base, models


class DefaultRecords:
    """Mixin of :class:`~.facade.PooledStorage`: these calls go to
    ``self._default``."""

    _default: base.Storage

    def record_owners(self, entries: Sequence[models.Ownership],
                      now: float | None = None) -> None:
        self._default.record_owners(entries, now)

    def lookup_owners(self, keys: Sequence[tuple[str, str]],
                      now: float | None = None
                      ) -> dict[tuple[str, str], models.Ownership]:
        return self._default.lookup_owners(keys, now)

    def set_quota(self, project: str, resource: str, limit: int) -> None:
        self._default.set_quota(project, resource, limit)

    def get_quotas(self, project: str) -> dict[str, int]:
        return self._default.get_quotas(project)

    def list_quotas(self) -> dict[str, dict[str, int]]:
        return self._default.list_quotas()

    def delete_quota(self, project: str,
                     resource: str | None = None) -> None:
        self._default.delete_quota(project, resource)
