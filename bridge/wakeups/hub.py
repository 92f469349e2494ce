"""Parked waiters of one event loop, woken by queue key.

A waiter takes a :meth:`Hub.mark` before it runs its request, and after an
empty answer calls :meth:`Hub.wait` with that mark: if its key was woken
since the mark, it returns at once (the notice may have raced the request),
else it waits for the next wake-up of the key or the timeout. The hub
remembers the last ``history`` wake-ups only; a mark older than that counts
as woken (one spurious re-run, never a missed message). Memory is flat:
one future per parked waiter, plus the bounded history.

Used on the loop's thread only.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Awaitable

from bridge.wakeups.base import Key

#: Remembered wake-ups (for marks taken before a request ran).
HISTORY = 4096


class Hub:
    def __init__(self, history: int = HISTORY) -> None:
        self._seq = 0
        self._recent: collections.deque[tuple[int, Key | None]] = (
            collections.deque(maxlen=history))
        self._waiters: dict[Key, set[asyncio.Future[None]]] = {}
        self.parked = 0

    def mark(self) -> int:
        """The current position, to take before running a request."""
        return self._seq

    def wake(self, key: Key | None) -> None:
        """Wake the waiters of ``key`` (None: every waiter)."""
        self._seq += 1
        self._recent.append((self._seq, key))
        if key is None:
            groups = list(self._waiters.values())
            self._waiters.clear()
        else:
            group = self._waiters.pop(key, None)
            groups = [group] if group else []
        for group in groups:
            for future in group:
                if not future.done():
                    future.set_result(None)

    def woken_since(self, key: Key, mark: int) -> bool:
        if mark >= self._seq:
            return False
        if not self._recent or self._recent[0][0] > mark + 1:
            return True  # older than the history: assume woken
        for seq, woken in reversed(self._recent):
            if seq <= mark:
                return False
            if woken is None or woken == key:
                return True
        return False

    async def wait(self, key: Key, mark: int, timeout: float,
                   also: Awaitable[object] | None = None) -> bool:
        """True when ``key`` was woken since ``mark`` (at once, or within
        ``timeout`` seconds); False on timeout or when ``also`` (e.g. the
        client's disconnect) completes first."""
        if self.woken_since(key, mark):
            return True
        if timeout <= 0:
            return False
        future: asyncio.Future[None] = (
            asyncio.get_running_loop().create_future())
        self._waiters.setdefault(key, set()).add(future)
        self.parked += 1
        try:
            waits: set[asyncio.Future[object]] = {future}  # type: ignore
            if also is not None:
                waits.add(asyncio.ensure_future(also))
            done, _ = await asyncio.wait(waits, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            return future in done
        finally:
            self.parked -= 1
            group = self._waiters.get(key)
            if group is not None:
                group.discard(future)
                if not group:
                    del self._waiters[key]
            if not future.done():
                future.cancel()
