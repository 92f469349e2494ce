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

* **Encryption at rest**: a message posted while its queue's metadata has
  ``_enable_encrypt_messages`` true is stored with its body sealed by
  :attr:`Storage.codec` (AES-GCM; see :mod:`bridge.storage.codec`), decided
  by the metadata the post obeys; every method returning messages returns
  them opened. A body that cannot be sealed or opened (no such key
  configured) raises KeyUnavailable.
* **Quotas** (the ``max_*`` arguments; None = unlimited), checked in the
  same write, QuotaExceeded and nothing written when exceeded:

  - ``max_messages`` (unexpired messages of the queue, batch included) is
    exact on SQL: counted while the post holds the queue's counter lock,
    which every post to that queue takes. On MongoDB the batch is
    inserted, the queue counted, and the batch withdrawn if over: never
    exceeded, but concurrent posts near the limit may all be refused.
  - ``max_queues`` and ``max_subscriptions`` (per project) are counted just
    before the insert, in its transaction, after locking the project's
    rows: exact on SQL (on PostgreSQL and MariaDB, except a project's very
    first row, which has nothing to lock yet; see
    :mod:`bridge.storage.sql.quotas`). On MongoDB
    concurrent creations in one project may overshoot by the creations in
    flight at that moment. With storage pools
    (:mod:`bridge.storage.pooling`) a queue lives on one pool, so
    ``max_messages`` stays as exact as its pool's driver; ``max_queues``
    and ``max_subscriptions`` are checked across all pools (the sum of
    their counts) before creating, but not atomically: concurrent
    creations in one project may overshoot by the creations in flight, as
    on MongoDB.

  Per-project overrides are stored with :meth:`Storage.set_quota` so every
  process sees them; which limit applies is the caller's business
  (:mod:`bridge.quotas`).

Times are UNIX epoch seconds (floats) from the calling process's clock.
"""

from __future__ import annotations

import abc
from typing import Any, Callable, Sequence

from bridge.storage.catalog import Catalog
from bridge.storage.codec import BodyCodec
from bridge.storage.models import (BacklogSample, Claim, DeliveryOutcome,
                                  Message, MessagePage, NewMessage, Ownership,
                                  Post, QueueSample, QueueStats, Subscription)


class Storage(abc.ABC):
    """One backend's queues, messages and claims, shared by all projects.

    Every method is thread safe; instances are shared by a process's
    threads. A backend that is down makes any method raise
    :class:`~bridge.storage.errors.Unavailable`.
    """

    #: Seconds a dedup key is remembered after its first post.
    dedup_window: int = 14 * 24 * 3600

    #: Seals and opens message bodies (set by :func:`bridge.storage.from_url`
    #: from [encryption]; this default has no keys).
    codec: BodyCodec = BodyCodec()

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
        """Delete expired messages, dedup keys and ownership entries; return
        how many messages were removed. Correctness never depends on it."""

    # -- queues ------------------------------------------------------------

    @abc.abstractmethod
    def create_queue(self, project: str, name: str,
                     metadata: dict[str, Any], *,
                     max_queues: int | None = None) -> bool:
        """Create the queue. Return True if it was created, False if it
        already existed (its metadata is then left unchanged). QuotaExceeded
        if it is new and the project already has ``max_queues``."""

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
                      client_id: str | None = None, *,
                      max_messages: int | None = None,
                      max_queues: int | None = None) -> list[str]:
        """Post what ``prepare(metadata)`` makes of a request, given the
        queue's metadata ({} for a queue that does not exist yet; the post
        creates it). ``prepare`` validates the request against the metadata
        (defaults, size limits) and returns the messages, or raises to
        refuse it: the exception propagates and nothing is posted.

        Drivers may call ``prepare`` more than once; it must return as many
        messages whatever the metadata. Drivers should store messages
        prepared from the metadata the queue holds when the post commits
        (the SQL driver does); the MongoDB driver reads the metadata, then
        posts, so a metadata change in between goes unnoticed. Bodies are
        sealed (:attr:`codec`) when that metadata asks for it.

        Quotas: QuotaExceeded, nothing posted, if the queue would then hold
        more than ``max_messages`` unexpired messages, or if it does not
        exist and the project already has ``max_queues`` (see the module
        docstring for what concurrency allows)."""
        raise NotImplementedError

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
                            secret: str, confirmed: bool,
                            max_subscriptions: int | None = None
                            ) -> Subscription:
        """Subscribe ``subscriber`` to the queue (which need not exist yet).
        Its cursor starts at the queue's newest marker: it receives messages
        posted from now on. Conflict if the same subscriber already has an
        unexpired subscription to this queue of this project; QuotaExceeded
        if the project already has ``max_subscriptions`` unexpired ones."""
        raise NotImplementedError

    def count_subscriptions(self, project: str,
                            now: float | None = None) -> int:
        """Number of the project's unexpired subscriptions (the count
        ``max_subscriptions`` is checked against)."""
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

    # -- ownership index -----------------------------------------------------
    # Which project owns a resource, learnt from the events that name both
    # (see bridge.listeners.ownership). Drivers implement these; the
    # defaults refuse, so an incomplete driver fails loudly.

    def record_owners(self, entries: Sequence[Ownership],
                      now: float | None = None) -> None:
        """Upsert the entries, keyed by (resource_type, resource_id), in one
        transaction where the backend allows (else entry by entry; a retry
        is safe: recording is idempotent).

        An entry's ``project`` replaces the stored one. Its ``expires`` can
        only bring the stored expiry earlier: once a delete event has set
        it, later entries of the same resource (late or redelivered events)
        never make it live again. Several processes may record the same
        resource at once: nothing fails, each field ends as one of them
        wrote it, and the earliest expiry wins."""
        raise NotImplementedError

    def lookup_owners(self, keys: Sequence[tuple[str, str]],
                      now: float | None = None
                      ) -> dict[tuple[str, str], Ownership]:
        """The unexpired entries among ``keys`` ((resource_type,
        resource_id) pairs), by key; unknown or expired keys are left out.
        One round trip for the whole batch."""
        raise NotImplementedError

    # -- samples for metrics ------------------------------------------------

    @abc.abstractmethod
    def sample_queues(self, limit: int,
                      now: float | None = None) -> list[QueueSample]:
        """The ``limit`` deepest queues of all projects (unexpired
        messages), deepest first, ties by project then queue; empty queues
        are left out. Read-only. It reads every message: for metrics
        sampled every few seconds, never per request."""

    @abc.abstractmethod
    def sample_backlogs(self, limit: int,
                        now: float | None = None) -> list[BacklogSample]:
        """The ``limit`` unexpired subscriptions with the most unexpired
        messages after their cursor, most first, ties by subscription id;
        subscriptions with nothing pending are left out. Read-only; like
        :meth:`sample_queues`, for sampled metrics."""

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

    # -- quota overrides -------------------------------------------------------
    # Per-project limits an operator set (bridge-manage quota); the defaults
    # live in [quotas]. Resources are short names ("queues", "messages",
    # "subscriptions"); limits are integers >= 0 (0: unlimited).

    def set_quota(self, project: str, resource: str, limit: int) -> None:
        """Store (or replace) the project's limit for ``resource``."""
        raise NotImplementedError

    def get_quotas(self, project: str) -> dict[str, int]:
        """The project's overrides by resource ({} when it has none)."""
        raise NotImplementedError

    def list_quotas(self) -> dict[str, dict[str, int]]:
        """Every project's overrides, by project."""
        raise NotImplementedError

    def delete_quota(self, project: str,
                     resource: str | None = None) -> None:
        """Remove one override (or, without ``resource``, all of the
        project's); the defaults apply again. Idempotent."""
        raise NotImplementedError
