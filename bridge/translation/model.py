"""What goes into translation and what comes out of it.

The listener turns each bus message into a :class:`Notification` and hands
it to :func:`bridge.translation.translate`, which answers with exactly one
of :class:`Routed`, :class:`Dropped` or :class:`Unroutable`. These types are
the whole contract between the listener and translation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: Field names of :class:`Notification`, in declaration order.
NOTIFICATION_FIELDS = ('event_type', 'publisher_id', 'priority', 'payload',
                       'ctxt', 'message_id', 'timestamp', 'exchange')


@dataclasses.dataclass(frozen=True)
class Notification:
    """One notification as it came off the bus.

    Translation never trusts the field types: a field of the wrong type
    makes the notification :class:`Unroutable`, it never raises.
    """

    event_type: str
    publisher_id: str
    #: ``info``, ``error``, ... lower case (upper case is tolerated).
    priority: str
    payload: dict
    #: The request context as a dict; ``{}`` when the sender sent none.
    ctxt: dict
    #: oslo.messaging's ``message_id``: the dedup key of the stored message.
    message_id: str
    #: As on the bus, e.g. ``'2026-11-22 01:01:49.683602'`` (naive UTC).
    timestamp: str
    #: ``'nova'``, ``'heat'``, ... when the listener knows the exchange.
    exchange: str | None = None


@dataclasses.dataclass(frozen=True)
class Routed:
    """Deliver ``body`` to queue ``queue`` of project ``project_id``."""

    project_id: str
    #: Already sanitized: ``[a-zA-Z0-9_-]``, 1 to 64 characters.
    queue: str
    #: Seconds; ``None`` means the queue's or the configured default.
    ttl: int | None
    #: The versioned tenant body (see :mod:`bridge.translation.body`).
    body: dict
    #: Always the notification's ``message_id``.
    dedup_key: str
    #: What the event tells the ownership index (None: nothing), see
    #: :mod:`bridge.translation.ownership`.
    ownership: Any = None
    #: Where the owner came from: ``payload``, ``index`` (the ownership
    #: index) or ``context`` (a non-operator request context).
    owner_from: str = ''


@dataclasses.dataclass(frozen=True)
class Dropped:
    """A ``drop`` routing rule matched: discarded on purpose."""

    #: The rule's name (``routes[N]`` when it has none).
    rule: str


@dataclasses.dataclass(frozen=True)
class Unroutable:
    """No owner could be found, or translation failed: the notification
    belongs in the operator dead-letter queue, never in a tenant's."""

    #: Why, for the operator.
    reason: str
    #: The original notification, unredacted (operator-only), as a dict of
    #: the :class:`Notification` fields. Values that JSON cannot hold are
    #: replaced by their ``repr``.
    body: dict


def original_body(n: Any) -> dict[str, Any]:
    """The notification as a JSON-safe dict of its fields; never raises."""
    return {name: _jsonable(getattr(n, name, None), 0)
            for name in NOTIFICATION_FIELDS}


_MAX_DEPTH = 64


def _jsonable(value: Any, depth: int) -> Any:
    """``value`` with everything JSON cannot encode replaced by its repr.
    Shares unchanged plain values; never mutates its input."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float('inf'),
                                                         float('-inf')) \
            else repr(value)
    if depth >= _MAX_DEPTH:
        return _safe_repr(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _safe_repr(k):
                _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    return _safe_repr(value)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not escape
        return '<%s>' % type(value).__name__
