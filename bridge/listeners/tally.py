"""The listener's metrics: what became of each notification of a batch,
by service and event family (:mod:`bridge.metrics.families`).

Labels come from the rules, so their number is bounded by the rules file:
``service`` is the matching family's service (``other`` when it names
none or no family matches), ``family`` its name (``none``).
"""

from __future__ import annotations

import collections
import datetime
import time
from typing import Any

from bridge import translation
from bridge.metrics import families
from bridge.translation import routing
from bridge.translation.ruleset import normalize_priority

NO_SERVICE = 'other'
NO_FAMILY = 'none'

Labels = tuple[str, str]


def labels_of(note: translation.Notification,
              rules: translation.Rules) -> Labels:
    try:
        family = routing.find_family(
            rules, note.event_type, note.exchange, note.publisher_id,
            normalize_priority(note.priority))
    except Exception:  # noqa: BLE001 - metrics never break a batch
        family = None
    if family is None:
        return NO_SERVICE, NO_FAMILY
    return family.service or NO_SERVICE, family.name


def event_time(timestamp: str) -> float | None:
    """oslo.messaging's naive UTC timestamp as epoch seconds, or None."""
    try:
        when = datetime.datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


class Tally:
    """One batch: every notification is received, then gets one outcome
    (see ``families.LISTENER_OUTCOMES``); :meth:`flush` counts them."""

    def __init__(self, rules: translation.Rules,
                 notes: list[translation.Notification]) -> None:
        self._labels = {n.message_id: labels_of(n, rules) for n in notes}
        self._times = {n.message_id: n.timestamp for n in notes}
        self._outcomes: dict[str, str] = {}
        for key, count in collections.Counter(self._labels.values()).items():
            families.LISTENER_RECEIVED.labels(*key).inc(count)

    def outcome(self, message_id: str | None, outcome: str) -> None:
        if message_id in self._labels:
            self._outcomes[message_id] = outcome  # type: ignore[index]

    def requeue_all(self) -> None:
        for message_id in self._labels:
            self._outcomes[message_id] = 'requeued'

    def flush(self, now: float | None = None) -> None:
        at = time.time() if now is None else now
        counts: collections.Counter[tuple[str, str, str]] = \
            collections.Counter()
        lags: dict[str, Any] = {}  # service -> its histogram child
        for message_id, outcome in self._outcomes.items():
            service, family = self._labels[message_id]
            counts[(service, family, outcome)] += 1
            if outcome == 'stored':
                sent = event_time(self._times[message_id])
                if sent is not None:
                    lag = lags.get(service)
                    if lag is None:
                        lag = lags[service] = \
                            families.LISTENER_LAG.labels(service)
                    lag.observe(max(0.0, at - sent))
        for key, count in counts.items():
            families.LISTENER_NOTIFICATIONS.labels(*key).inc(count)
