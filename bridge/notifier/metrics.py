"""The notifier's metrics (:mod:`bridge.metrics.families`): attempts and
their duration, and what became of each message."""

from __future__ import annotations

from bridge.metrics import families
from bridge.notifier import result as res
from bridge.notifier import subscriber as subscriber_mod


def kind(target: subscriber_mod.Subscriber) -> str:
    return 'email' if isinstance(target, subscriber_mod.Email) else 'webhook'


def attempt(kind: str, result: res.Result, seconds: float) -> None:
    """One delivery attempt (message or confirmation request)."""
    families.NOTIFIER_ATTEMPTS.labels(kind, result.outcome.value).inc()
    families.NOTIFIER_SEND_SECONDS.labels(kind).observe(seconds)


def delivered(kind: str, latency: float) -> None:
    families.NOTIFIER_DELIVERIES.labels(kind, 'delivered').inc()
    families.NOTIFIER_LATENCY.labels(kind).observe(max(0.0, latency))


def failed(kind: str, gave_up: bool) -> None:
    """A message given up on: retries exhausted, or a final failure."""
    families.NOTIFIER_DELIVERIES.labels(
        kind, 'gave_up' if gave_up else 'rejected').inc()
