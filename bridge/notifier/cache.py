"""A small time-bounded cache shared by a notifier's threads."""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar('V')


class TtlCache(Generic[V]):
    """Values kept ``ttl`` seconds after they were loaded.

    ``get(key, load)`` returns the cached value or calls ``load()``
    (outside the lock: two threads may load the same key at once, and the
    later one wins). At most ``size`` entries; beyond, expired ones are
    dropped, and everything if none has expired.
    """

    def __init__(self, ttl: float, size: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = self.clock()
        with self._lock:
            found = self._data.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = load()
        with self._lock:
            if len(self._data) >= self.size:
                self._data = {k: v for k, v in self._data.items()
                              if v[0] > now}
                if len(self._data) >= self.size:
                    self._data.clear()
            self._data[key] = (now + self.ttl, value)
        return value
