"""The listener's side of the ownership index: one lookup and at most one
write per batch.

Before translating a batch the endpoint looks up, with one storage call,
the index entries of every resource the batch names
(:func:`bridge.translation.ownership.index_key`); translation, a pure
function, takes those owners as input and says what each routed event
teaches the index (:class:`~bridge.translation.ownership.OwnerFact`).
Facts are applied to the batch's view as it goes, so a delete that follows
its create in the same batch finds the owner. Only what changes the index
is written: a new resource, a new owner, a first delete (which starts the
grace period). Steady traffic about known resources costs the lookup only.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Sequence

from bridge import translation
from bridge.storage import base, models
from bridge.translation import ownership


class BatchIndex:
    """The index as one batch sees it."""

    def __init__(self, known: dict[tuple[str, str], models.Ownership]
                 ) -> None:
        self._known = known
        #: What translation reads: key -> owning project.
        self.owners: dict[tuple[str, str], str] = {
            key: entry.project for key, entry in known.items()}
        self._facts: list[ownership.OwnerFact] = []

    def learn(self, fact: ownership.OwnerFact | None) -> None:
        """Take in what a routed event says (None: nothing)."""
        if fact is not None:
            self.owners[fact.key] = fact.project
            self._facts.append(fact)

    def changes(self, now: float, grace: int) -> list[models.Ownership]:
        """The entries to write: facts that change what the index held."""
        entries = []
        for fact in self._facts:
            known = self._known.get(fact.key)
            if (known is not None and known.project == fact.project
                    and (not fact.deleted or not known.live)):
                continue
            expires = now + grace if fact.deleted else models.OWNER_LIVE
            entries.append(models.Ownership(fact.resource_type,
                                            fact.resource_id, fact.project,
                                            expires))
        return entries


class OwnerIndex:
    """Looks up and records owners for the endpoint's batches."""

    def __init__(self, storage: base.Storage, grace: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.grace = grace
        self._clock = clock

    def for_batch(self, notes: Iterable[translation.Notification],
                  rules: translation.Rules) -> BatchIndex:
        """One lookup for every resource ``notes`` name. Raises
        :class:`~bridge.storage.errors.Unavailable` like storage does."""
        keys = sorted({key for key in (ownership.index_key(n, rules)
                                       for n in notes) if key is not None})
        return BatchIndex(self.storage.lookup_owners(keys) if keys else {})

    def record(self, batch: BatchIndex) -> Sequence[models.Ownership]:
        """Write what the batch changed (nothing: no storage call)."""
        entries = batch.changes(self._clock(), self.grace)
        if entries:
            self.storage.record_owners(entries)
        return entries
