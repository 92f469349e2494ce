"""The pool catalog's records and the small store that keeps them.

The catalog lives in the default ``[storage] url`` database, whatever its
driver: each driver returns a :class:`Catalog` from
:meth:`bridge.storage.base.Storage.catalog`. It holds three kinds of
record:

* **pools**: another storage backend (a URL of any driver), its weight,
  and the flavor it belongs to (or none);
* **flavors**: a named set of pools a tenant can ask for with its queue's
  ``_flavor`` metadata (the pools name their flavor, as in Zaqar);
* **placements**: which pool holds each (project, queue). A placement is
  written once, first writer wins, and is kept when the queue is deleted,
  so a queue name stays on its pool and every process may cache it.

The store is deliberately dumb (named JSON documents and placements); what
the records mean is :mod:`bridge.storage.pooling`'s business, written once
for every driver.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

POOLS = 'pool'
FLAVORS = 'flavor'

#: Longest pool or flavor name (as a queue name).
NAME_LENGTH = 64


@dataclasses.dataclass(frozen=True)
class Pool:
    name: str
    uri: str
    weight: int
    flavor: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {'uri': self.uri, 'weight': self.weight,
                'flavor': self.flavor, 'options': self.options}

    @classmethod
    def of(cls, name: str, doc: dict[str, Any]) -> Pool:
        return cls(name=name, uri=doc['uri'], weight=doc['weight'],
                   flavor=doc.get('flavor') or None,
                   options=doc.get('options') or {})


@dataclasses.dataclass(frozen=True)
class Flavor:
    name: str
    capabilities: dict[str, Any] = dataclasses.field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {'capabilities': self.capabilities}

    @classmethod
    def of(cls, name: str, doc: dict[str, Any]) -> Flavor:
        return cls(name=name, capabilities=doc.get('capabilities') or {})


class Catalog(abc.ABC):
    """Named documents of a few kinds, and queue placements. Every method
    is one atomic operation on the backend and thread safe; a backend that
    is down raises :class:`~bridge.storage.errors.Unavailable`."""

    @abc.abstractmethod
    def put(self, kind: str, name: str, doc: dict[str, Any], *,
            create: bool) -> bool:
        """Store the document. With ``create``, only if ``name`` is new
        (return False, writing nothing, if it exists); without, replace it
        or create it. Return True if written."""

    @abc.abstractmethod
    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """The document, or None."""

    @abc.abstractmethod
    def entries(self, kind: str, *, marker: str | None = None,
             limit: int | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(name, document) pairs sorted by name, names after ``marker``,
        at most ``limit`` (None: all)."""

    @abc.abstractmethod
    def delete(self, kind: str, name: str) -> None:
        """Idempotent."""

    @abc.abstractmethod
    def place(self, project: str, queue: str, pool: str) -> str:
        """Record that the queue lives on ``pool`` unless a placement
        already exists; return the pool recorded (this call's, or the one
        an earlier or concurrent call wrote: exactly one wins)."""

    @abc.abstractmethod
    def placement(self, project: str, queue: str) -> str | None:
        """The pool recorded for the queue, or None."""

    @abc.abstractmethod
    def placed_on(self, pool: str, *, limit: int
                  ) -> list[tuple[str, str]]:
        """Up to ``limit`` (project, queue) pairs placed on ``pool``."""

    @abc.abstractmethod
    def unplace(self, project: str, queue: str) -> None:
        """Forget the queue's placement. Idempotent."""
