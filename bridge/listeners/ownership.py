"""The listener's side of the ownership index: one lookup and at most one
write per batch.

Translation is a pure function that takes the owners the index holds
(:func:`bridge.translation.translate`) and says what each routed event
teaches the index (:class:`~bridge.translation.ownership.OwnerFact`). It
reads the index only for an event whose payload names no owner (a delete
carrying just the id), so a batch is translated in two steps:

1. Every event, in order, against what the batch itself has taught so far
   (a delete that follows its create in the same batch finds the owner).
   Events that asked the index for a resource it could not answer yet are
   set aside.
2. One storage lookup for those resources and for every resource the
   batch taught something about; the events set aside are translated
   again with the answers.

Only what changes the index is then written, in one call: a new resource,
a new owner, a first delete (which starts the grace period). Steady traffic
about known resources costs the lookup only.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from bridge import translation
from bridge.storage import base, models
from bridge.translation import ownership

Result = Any  # translation.Routed | Dropped | Unroutable


class _Owners(dict):
    """What translation reads; remembers the last key it could not find."""

    missed: tuple[str, str] | None = None

    def get(self, key: Any, default: Any = None) -> Any:
        found = dict.get(self, key)
        if found is None:
            self.missed = key
            return default
        return found


class BatchIndex:
    """The index as one batch sees it."""

    def __init__(self) -> None:
        self.owners = _Owners()
        self.known: dict[tuple[str, str], models.Ownership] = {}
        self._facts: list[ownership.OwnerFact] = []

    def learn(self, result: Result) -> None:
        """Take in what a routed event says."""
        fact = getattr(result, 'ownership', None)
        if fact is not None:
            self.owners[fact.key] = fact.project
            self._facts.append(fact)

    def fact_keys(self) -> set[tuple[str, str]]:
        return {fact.key for fact in self._facts}

    def changes(self, now: float, grace: int) -> list[models.Ownership]:
        """The entries to write: facts that change what the index held."""
        entries = []
        for fact in self._facts:
            known = self.known.get(fact.key)
            if (known is not None and known.project == fact.project
                    and (not fact.deleted or not known.live)):
                continue
            expires = now + grace if fact.deleted else models.OWNER_LIVE
            entries.append(models.Ownership(fact.resource_type,
                                            fact.resource_id, fact.project,
                                            expires))
        return entries


class OwnerIndex:
    """Translates the endpoint's batches with the ownership index."""

    def __init__(self, storage: base.Storage, grace: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.grace = grace
        self._clock = clock

    def translate(self, notes: Sequence[translation.Notification],
                  rules: translation.Rules
                  ) -> tuple[list[tuple[translation.Notification, Result]],
                             BatchIndex]:
        """(notification, result) pairs (events set aside come last) and
        the batch's view of the index. Raises
        :class:`~bridge.storage.errors.Unavailable` like storage does."""
        batch = BatchIndex()
        owners = batch.owners
        done: list[tuple[translation.Notification, Result]] = []
        waiting: list[tuple[translation.Notification, Result, Any]] = []
        for note in notes:
            owners.missed = None
            result = translation.translate(note, rules, owners)
            if owners.missed is not None:
                waiting.append((note, result, owners.missed))
            else:
                batch.learn(result)
                done.append((note, result))
        keys = batch.fact_keys() | {missed for _, _, missed in waiting}
        if keys:
            batch.known = self.storage.lookup_owners(sorted(keys))
        for key, entry in batch.known.items():
            owners.setdefault(key, entry.project)  # the batch's own win
        for note, result, missed in waiting:
            if missed in owners:
                result = translation.translate(note, rules, owners)
            batch.learn(result)
            done.append((note, result))
        return done, batch

    def record(self, batch: BatchIndex) -> Sequence[models.Ownership]:
        """Write what the batch changed (nothing: no storage call)."""
        entries = batch.changes(self._clock(), self.grace)
        if entries:
            self.storage.record_owners(entries)
        return entries
