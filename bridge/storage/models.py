"""The records the storage interface (:mod:`bridge.storage.base`) takes
and returns: messages to post, stored messages, claims, queue statistics,
subscriptions and delivery outcomes. Immutable dataclasses, the same
for every driver."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from bridge.storage import namespaces


@dataclasses.dataclass(frozen=True)
class NewMessage:
    """A message to post. ``ttl`` and ``delay`` are already resolved by the
    caller (queue metadata and option defaults applied)."""

    body: Any
    ttl: int
    delay: int = 0
    dedup_key: str | None = None


@dataclasses.dataclass(frozen=True)
class Post:
    """One queue's share of a multi-queue write (:meth:`Storage.post_many`)."""

    project: str
    queue: str
    messages: Sequence[NewMessage]
    client_id: str | None = None
    max_depth: int | None = None
    """Keep at most this many messages in the queue after the write: the
    oldest beyond it are evicted (bounded queues for tenants who never
    read). None = unbounded."""


@dataclasses.dataclass(frozen=True)
class Message:
    id: str
    body: Any
    ttl: int
    created: float
    marker: int
    client_id: str | None = None
    claim_id: str | None = None
    """Id of the active claim holding the message, or None."""
    claim_count: int = 0
    """How many times the message has been claimed."""

    def age(self, now: float) -> int:
        return max(0, int(now - self.created))


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    ttl: int
    grace: int
    updated: float
    """When the claim was created or last renewed; its age counts from here."""
    messages: list[Message]

    def age(self, now: float) -> int:
        return max(0, int(now - self.updated))


@dataclasses.dataclass(frozen=True)
class QueueStats:
    free: int
    """Visible messages not held by an active claim."""
    claimed: int
    """Messages held by an active claim."""
    delayed: int
    """Messages not yet visible because of their delay."""
    oldest: Message | None
    newest: Message | None

    @property
    def total(self) -> int:
        return self.free + self.claimed + self.delayed


@dataclasses.dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    next_marker: str | None
    """Marker to pass for the following page; None when this page is empty
    (a reader keeps its previous marker and asks again later)."""


@dataclasses.dataclass(frozen=True)
class Subscription:
    """A subscriber (webhook URL or mailto:) of one queue, and where its
    delivery stands.

    Delivery state is a *cursor*: the marker of the last message of the
    queue that was handled for this subscriber (delivered, filtered out, or
    given up on). Messages are handed to a subscriber in marker order, one
    at a time, so at-least-once delivery in queue order only needs the
    cursor to move after each outcome is known.
    """

    id: str
    project: str
    """The queue's owner: a project, or a project's topics
    (:mod:`bridge.storage.namespaces`)."""
    queue: str
    subscriber: str
    ttl: int
    options: dict[str, Any]
    created: float
    secret: str
    """HMAC-SHA256 key for the signature header; shown to the tenant once."""
    confirmed: bool
    cursor: int
    """Marker of the last handled message (0: none yet)."""
    failures: int = 0
    """Failed attempts in a row at the message after the cursor."""
    next_attempt: float = 0.0
    """Not before this time may the next attempt run (retry back-off)."""
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    confirmation_sent: bool = False

    @property
    def expires(self) -> float:
        return self.created + self.ttl

    def age(self, now: float) -> int:
        return max(0, int(now - self.created))

    @property
    def tenant(self) -> str:
        """The project the subscription belongs to."""
        return namespaces.split(self.project)[0]

    @property
    def source_kind(self) -> str:
        """``queue`` or ``topic``: what it is subscribed to."""
        return namespaces.split(self.project)[1][:-1]

    @property
    def source_path(self) -> str:
        """The API path of its queue or topic (``/v2/queues/NAME``)."""
        return namespaces.path(self.project, self.queue)


@dataclasses.dataclass(frozen=True)
class DeliveryOutcome:
    """What a notifier learned about one subscription; written with
    :meth:`Storage.record_delivery`."""

    cursor: int
    """New cursor (unchanged when the message must be retried)."""
    failures: int
    next_attempt: float = 0.0
    success_at: float | None = None
    error: str | None = None
    error_at: float | None = None
    confirmation_sent: bool | None = None
    """Set when a confirmation request was just sent (None: unchanged)."""


#: The ``expires`` an ownership entry has while its resource lives (the
#: end of year 9999, as epoch seconds). Drivers store it as a number so that
#: "the earlier expiry wins" is a plain minimum.
OWNER_LIVE = 253402300799.0


@dataclasses.dataclass(frozen=True)
class Ownership:
    """One entry of the ownership index: resource (type, id) -> owner.

    The key is the pair: a resource id is only unique within its type, and
    some services let users choose ids (Glance images), so a tenant cannot
    claim another service's resource by naming an image after it."""

    resource_type: str
    """``<service>:<kind>``, e.g. ``neutron:network``."""
    resource_id: str
    project: str
    expires: float = OWNER_LIVE
    """Epoch seconds after which the entry is gone; :data:`OWNER_LIVE`
    while the resource lives (no delete event seen yet)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.resource_type, self.resource_id)

    @property
    def live(self) -> bool:
        return self.expires >= OWNER_LIVE


def merge_ownership(entries: Sequence[Ownership]
                    ) -> dict[tuple[str, str], Ownership]:
    """One entry per key, as recording them in order would leave it: the
    last project, the earliest expiry."""
    merged: dict[tuple[str, str], Ownership] = {}
    for entry in entries:
        known = merged.get(entry.key)
        if known is not None and known.expires < entry.expires:
            entry = dataclasses.replace(entry, expires=known.expires)
        merged[entry.key] = entry
    return merged
@dataclasses.dataclass(frozen=True)
class QueueSample:
    """One queue's depth, for metrics (:meth:`Storage.sample_queues`)."""

    project: str
    queue: str
    depth: int
    """Unexpired messages (claimed and delayed ones included)."""
    oldest_age: float
    """Seconds since the oldest of them was stored."""


@dataclasses.dataclass(frozen=True)
class BacklogSample:
    """One subscription's backlog (:meth:`Storage.sample_backlogs`)."""

    subscription_id: str
    project: str
    queue: str
    backlog: int
    """Unexpired messages after the subscription's cursor."""
