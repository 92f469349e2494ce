"""The storage interface: queues, messages and claims for each project.

Every driver implements :class:`Storage` and passes the one contract suite
in ``tests/storage/test_contract.py``. The API and the listeners see only
this module, the records it takes and returns (:mod:`bridge.storage.models`)
and :mod:`bridge.storage.errors`.

Model
-----
* A queue belongs to a project and is named within it. Posting to a queue
  that does not exist creates it (Zaqar v2 "lazy" queues).
* A message has an id (opaque string, unique), a body (any JSON value), a
  ttl, an optional delay, the Client-ID of its poster, and a per-queue
  *marker*: an integer that grows with each message posted to the queue.
* A message is **visible** from ``created + delay`` until ``created + ttl``.
  Expired messages are never returned and never counted, whether or not a
  sweep has removed them yet.
* A **claim** holds messages for one consumer for ``ttl`` seconds. While a
  claim is active no other claim can take its messages, and deleting such a
  message requires the claim id. Claiming extends each claimed message's
  life to at least ``claim expiry + grace``.
* Queue metadata keys starting with ``_`` are reserved; this layer acts on
  ``_max_claim_count``, ``_dead_letter_queue`` and
  ``_dead_letter_queue_messages_ttl`` (see :meth:`Storage.create_claim`).
  The API layer applies the others.

Guarantees every driver gives
-----------------------------
* **Ordering without skips**: within a queue, markers are committed in
  increasing order, so a reader paging with the ``next_marker`` it was given
  never misses a message, even while posts from many processes interleave.
* **Exactly one claimer**: a message is in at most one active claim, even
  when many processes claim from the same queue at the same instant.
* **All or nothing writes**: a post stores every message of the batch or
  none of them; a bulk delete deletes all named messages or none.
* **Idempotent posts**: a message posted with a ``dedup_key`` that the queue
  has already seen (within ``dedup_window`` seconds, counted from the first
  post) is not stored again; its first id is returned instead, even if that
  message has since been deleted.

Times are UNIX epoch seconds (floats) from the calling process's clock.
"""

from __future__ import annotations

import abc
from typing import Any, Callable, Sequence

from bridge.storage import errors
from bridge.storage.catalog import Catalog
from bridge.storage.models import (Claim, DeliveryOutcome, Message,
                                  MessagePage, NewMessage, Post, QueueStats,
                                  Subscription)


class Storage(abc.ABC):
    """One backend's queues, messages and claims, shared by all projects.

    Every method is thread safe; instances are shared by a process's
    threads. A backend that is down makes any method raise
    :class:`~bridge.storage.errors.Unavailable`.
    """

    #: Seconds a dedup key is remembered after its first post.
    dedup_window: int = 14 * 24 * 3600

    # -- lifecycle ---------------------------------------------------------

    @abc.abstractmethod
    def ensure_schema(self) -> None:
        """Create tables, collections and indexes that are missing.
        Idempotent; safe to run from several processes at once."""

    @abc.abstractmethod
    def health(self) -> None:
        """Cheap round trip to the backend; raises Unavailable. Writes
        nothing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""

    def catalog(self) -> Catalog:
        """The pool catalog kept in this backend's database (see
        :mod:`bridge.storage.catalog`); :meth:`ensure_schema` creates it.
        Only the default [storage] url backend's catalog is used."""
        raise NotImplementedError

    @abc.abstractmethod
    def sweep(self, now: float | None = None) -> int:
        """Delete expired messages and dedup keys; return how many
        messages were removed. Correctness never depends on it."""

    # -- queues ------------------------------------------------------------

    @abc.abstractmethod
    def create_queue(self, project: str, name: str,
                     metadata: dict[str, Any]) -> bool:
        """Create the queue. Return True if it was created, False if it
        already existed (its metadata is then left unchanged)."""

    @abc.abstractmethod
    def get_queue(self, project: str, name: str) -> dict[str, Any]:
        """Return the queue's metadata; QueueNotFound if it does not exist."""

    @abc.abstractmethod
    def set_queue_metadata(self, project: str, name: str,
                           metadata: dict[str, Any]) -> None:
        """Replace the queue's metadata; QueueNotFound if it does not exist."""

    @abc.abstractmethod
    def list_queues(self, project: str, *, marker: str | None = None,
                    limit: int = 10, name: str | None = None
                    ) -> list[tuple[str, dict[str, Any]]]:
        """Return up to ``limit`` (name, metadata) pairs of the project's
        queues, sorted by name, with names greater than ``marker``. With
        ``name``, only queues whose name contains that text."""

    @abc.abstractmethod
    def count_queues(self, project: str, name: str | None = None) -> int:
        """Number of the project's queues (with ``name``: whose name
        contains that text)."""

    @abc.abstractmethod
    def delete_queue(self, project: str, name: str) -> None:
        """Delete the queue with its messages and claims. Idempotent."""

    @abc.abstractmethod
    def queue_stats(self, project: str, name: str) -> QueueStats:
        """Counts of the queue's unexpired messages, and its oldest and
        newest visible ones. A queue that does not exist has all zeros."""

    # -- messages ----------------------------------------------------------

    @abc.abstractmethod
    def post_messages(self, project: str, queue: str,
                      messages: Sequence[NewMessage],
                      client_id: str | None = None) -> list[str]:
        """Store the messages in the queue (created if missing), in order,
        all or none. Return their ids, in input order. A message whose
        ``dedup_key`` was already posted to this queue is not stored again;
        the id stored the first time stands in its place."""

    def post_prepared(self, project: str, queue: str,
                      prepare: Callable[[dict[str, Any]],
                                        Sequence[NewMessage]],
                      client_id: str | None = None) -> list[str]:
        """Post what ``prepare(metadata)`` makes of a request, given the
        queue's metadata ({} for a queue that does not exist yet; the post
        creates it). ``prepare`` validates the request against the metadata
        (defaults, size limits) and returns the messages, or raises to
        refuse it: the exception propagates and nothing is posted.

        Drivers may call ``prepare`` more than once; it must return as many
        messages whatever the metadata. Drivers should store messages
        prepared from the metadata the queue holds when the post commits
        (the SQL driver does); this default reads the metadata, then posts,
        so a metadata change in between goes unnoticed."""
        try:
            metadata = self.get_queue(project, queue)
        except errors.QueueNotFound:
            metadata = {}
        return self.post_messages(project, queue, prepare(metadata),
                                  client_id)

    @abc.abstractmethod
    def list_messages(self, project: str, queue: str, *,
                      marker: str | None = None, limit: int = 10,
                      client_id: str | None = None, echo: bool = False,
                      include_claimed: bool = False,
                      include_delayed: bool = False) -> MessagePage:
        """Return up to ``limit`` visible messages after ``marker``, in
        marker order. Unless ``echo``, messages posted by ``client_id`` are
        left out. Claimed messages only with ``include_claimed``; delayed
        ones only with ``include_delayed``. A missing queue is empty. An
        unparseable marker is treated as no marker."""

    @abc.abstractmethod
    def get_messages(self, project: str, queue: str,
                     ids: Sequence[str]) -> list[Message]:
        """Return the unexpired messages among ``ids`` (claimed or not,
        delayed or not), in the order of ``ids``; unknown ids are left out."""

    @abc.abstractmethod
    def delete_message(self, project: str, queue: str, message_id: str,
                       claim_id: str | None = None) -> None:
        """Delete one message. Unknown or expired ids are a no-op.
        A message held by an active claim needs that claim's id
        (else MessageIsClaimed). A claim id that does not hold the message
        (unclaimed, expired, or another claim's) raises ClaimMismatch."""

    @abc.abstractmethod
    def delete_messages(self, project: str, queue: str,
                        ids: Sequence[str],
                        claim_ids: Sequence[str] = ()) -> None:
        """Delete the listed messages, all or none: if any of them is held
        by an active claim not in ``claim_ids``, raise MessageIsClaimed and
        delete nothing. Unknown ids are ignored."""

    @abc.abstractmethod
    def pop_messages(self, project: str, queue: str,
                     limit: int) -> list[Message]:
        """Atomically remove and return up to ``limit`` visible, unclaimed
        messages, oldest first. Two concurrent pops never return the same
        message."""

    @abc.abstractmethod
    def purge_queue(self, project: str, queue: str) -> None:
        """Delete every message and claim of the queue; keep the queue."""

    def post_many(self, posts: Sequence[Post]) -> int:
        """Store every post as :meth:`post_messages` would (dedup keys
        honoured), then apply each post's ``max_depth``. Return how many
        old messages were evicted. Drivers that can do so write everything
        in one transaction; otherwise posts are written one by one, and a
        retry after a failure is safe because of the dedup keys."""
        for post in posts:
            self.post_messages(post.project, post.queue, post.messages,
                               post.client_id)
        return sum(self.trim_queue(p.project, p.queue, p.max_depth)
                   for p in posts if p.max_depth)

    def trim_queue(self, project: str, queue: str, max_depth: int) -> int:
        """Evict the queue's oldest messages (claimed or not) so that at most
        ``max_depth`` remain; return how many were evicted."""
        raise NotImplementedError

    # -- subscriptions -------------------------------------------------------
    # Drivers implement these; the defaults refuse, so an incomplete driver
    # fails loudly rather than silently not delivering.

    def create_subscription(self, project: str, queue: str, subscriber: str,
                            *, ttl: int, options: dict[str, Any],
                            secret: str, confirmed: bool) -> Subscription:
        """Subscribe ``subscriber`` to the queue (which need not exist yet).
        Its cursor starts at the queue's newest marker: it receives messages
        posted from now on. Conflict if the same subscriber already has an
        unexpired subscription to this queue of this project."""
        raise NotImplementedError

    def get_subscription(self, project: str, queue: str,
                         subscription_id: str) -> Subscription:
        """NotFound if unknown or expired."""
        raise NotImplementedError

    def list_subscriptions(self, project: str, queue: str, *,
                           marker: str | None = None, limit: int = 10
                           ) -> list[Subscription]:
        """Unexpired subscriptions of the queue, ordered by id, with ids
        greater than ``marker``."""
        raise NotImplementedError

    def update_subscription(self, project: str, queue: str,
                            subscription_id: str, *,
                            subscriber: str | None = None,
                            ttl: int | None = None,
                            options: dict[str, Any] | None = None,
                            confirmed: bool | None = None) -> Subscription:
        """Change the given fields (None: unchanged); a new ``ttl`` counts
        from now. Changing ``subscriber`` clears confirmation (it must be
        confirmed again) and confirmation_sent. NotFound if unknown or
        expired; Conflict if the new subscriber is already subscribed."""
        raise NotImplementedError

    def delete_subscription(self, project: str, queue: str,
                            subscription_id: str) -> None:
        """Idempotent. (delete_queue also deletes the queue's
        subscriptions.)"""
        raise NotImplementedError

    def lease_subscriptions(self, owner: str, *, lease_seconds: float,
                            limit: int, now: float | None = None
                            ) -> list[Subscription]:
        """Atomically lease up to ``limit`` unexpired subscriptions that have
        work: their queue holds a message newer than their cursor (or they
        need a confirmation request sent), their ``next_attempt`` has come,
        and no other owner holds an unexpired lease on them. Each
        subscription is leased by at most one owner at a time; a lease that
        expires (its owner crashed) can be taken by another."""
        raise NotImplementedError

    def record_delivery(self, subscription: Subscription, owner: str,
                        outcome: DeliveryOutcome, *,
                        release: bool = False) -> bool:
        """Store the outcome if ``owner`` still holds the lease (and extend
        the lease, or release it with ``release``). Return False, writing
        nothing, if the lease was lost (another notifier owns it now)."""
        raise NotImplementedError

    # -- claims ------------------------------------------------------------

    @abc.abstractmethod
    def create_claim(self, project: str, queue: str, *, ttl: int,
                     grace: int, limit: int) -> Claim | None:
        """Atomically claim up to ``limit`` visible, unclaimed messages,
        oldest first; None if there are none. Each claimed message's
        ``claim_count`` goes up by one and its expiry becomes at least
        ``now + ttl + grace``.

        Dead letters: when the queue's metadata has ``_max_claim_count`` N
        and ``_dead_letter_queue`` D, a candidate already claimed N times is
        moved to queue D of the same project (ttl from
        ``_dead_letter_queue_messages_ttl`` if set, else its own) instead of
        being claimed. Without D, such messages are claimable as usual."""

    @abc.abstractmethod
    def get_claim(self, project: str, queue: str, claim_id: str) -> Claim:
        """Return the active claim with the messages it still holds;
        ClaimNotFound if it is unknown or expired."""

    @abc.abstractmethod
    def update_claim(self, project: str, queue: str, claim_id: str, *,
                     ttl: int, grace: int) -> None:
        """Renew the claim: it now expires ``ttl`` seconds from now, and its
        messages live at least until then plus ``grace``. ClaimNotFound if
        the claim is unknown or expired."""

    @abc.abstractmethod
    def delete_claim(self, project: str, queue: str, claim_id: str) -> None:
        """Release the claim: its messages become claimable again.
        Idempotent."""
