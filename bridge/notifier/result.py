"""What one delivery attempt came to. Senders (webhook, email) return one
of these and never raise into the caller."""

from __future__ import annotations

import dataclasses
import enum


class Outcome(enum.Enum):
    DELIVERED = 'delivered'
    """The receiver accepted the message."""
    RETRY = 'retry'
    """A failure that may pass (connection error, timeout, 5xx, 408, 429,
    SMTP 4xx): try the same message again later."""
    FINAL = 'final'
    """A failure that retrying will not fix (4xx, SMTP 5xx, destination
    refused): give up on this message."""


@dataclasses.dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ''
    """Short text for the subscription's ``last_error`` and the logs."""
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (``Retry-After``), if any."""

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED


DELIVERED = Result(Outcome.DELIVERED)


def retry(reason: str, retry_after: float | None = None) -> Result:
    return Result(Outcome.RETRY, reason, retry_after)


def final(reason: str) -> Result:
    return Result(Outcome.FINAL, reason)
