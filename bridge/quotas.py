"""Which quota applies to a project: its override (stored in storage by
``bridge-manage quota set``), else the [quotas] default; 0 = unlimited.

The API passes the limits to the storage writes (the ``max_*`` arguments
of :class:`~bridge.storage.base.Storage`), which check them in the same
write. Each process keeps a project's overrides for ``[quotas]
refresh_seconds`` before reading them again.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable

from bridge.storage.base import Storage

#: Resource name (as stored and as typed to bridge-manage) -> [quotas]
#: option holding its default.
RESOURCES = {
    'queues': 'queues_per_project',
    'messages': 'messages_per_queue',
    'subscriptions': 'subscriptions_per_project',
}

#: Most projects whose overrides a process remembers.
MAX_CACHED = 10000


@dataclasses.dataclass(frozen=True)
class Limits:
    """One project's limits; None = unlimited."""

    queues: int | None
    messages: int | None
    subscriptions: int | None


def defaults(conf: Any) -> dict[str, int]:
    """The [quotas] defaults by resource (0 = unlimited)."""
    return {name: getattr(conf.quotas, option)
            for name, option in RESOURCES.items()}


def effective(default: dict[str, int],
              overrides: dict[str, int]) -> dict[str, int]:
    """Each resource's limit in force (0 = unlimited)."""
    return {name: overrides.get(name, value)
            for name, value in default.items()}


class Quotas:
    """The limits of each project, from ``storage`` and ``conf``."""

    def __init__(self, storage: Storage, conf: Any,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._storage = storage
        self._defaults = defaults(conf)
        self._refresh = conf.quotas.refresh_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Limits]] = {}
        self._lock = threading.Lock()

    def of(self, project: str) -> Limits:
        now = self._clock()
        known = self._cache.get(project)
        if known is not None and now - known[0] < self._refresh:
            return known[1]
        limits = effective(self._defaults, self._storage.get_quotas(project))
        found = Limits(**{name: value or None
                          for name, value in limits.items()})
        if self._refresh > 0:
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[project] = (now, found)
        return found
