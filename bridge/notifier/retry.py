"""When to retry a failed delivery, and when to give up.

The operator sets the limits in ``[notifier]``: ``max_retries``,
``min_retry_delay`` and ``max_retry_delay``. A tenant may tune them with a
``_retry_policy`` dict, Zaqar style, in the queue's metadata and in a
subscription's options (the subscription's wins, unless either sets
``ignore_subscription_override``), but only within the operator's limits:

* retries: ``max_retries`` (bridge), else the sum of Zaqar's
  ``retries_with_no_delay``, ``minimum_delay_retries`` and
  ``maximum_delay_retries`` when any is given; never more than the
  operator's ``max_retries``;
* ``minimum_delay`` / ``maximum_delay`` (seconds): kept within
  [``min_retry_delay``, ``max_retry_delay``], so a tenant can retry less
  often but never hammer a receiver (or the notifier) faster than allowed.

Zaqar's ``retry_backoff_function`` is ignored: bridge always backs off
exponentially with jitter.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Callable, Mapping

_ZAQAR_RETRY_COUNTS = ('retries_with_no_delay', 'minimum_delay_retries',
                       'maximum_delay_retries')


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one message to one subscriber.

    ``max_retries`` counts retries after the first attempt: a message is
    tried at most ``max_retries + 1`` times, then given up (the cursor
    moves on and the error stays in the subscription's delivery status).
    """

    max_retries: int
    min_delay: float
    max_delay: float

    def gives_up(self, failures: int) -> bool:
        """True once ``failures`` failed attempts in a row at one message
        leave no retry."""
        return failures > self.max_retries

    def delay(self, attempt: int, retry_after: float | None = None,
              rand: Callable[[float, float], float] = random.uniform
              ) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = the first).

        Exponential back-off with full jitter: a uniform pick in
        [0, ``min_delay * 2**attempt``], the ceiling capped at
        ``max_delay``, and never less than ``min_delay``. A receiver's
        ``Retry-After`` (seconds) replaces the pick, kept within
        [``min_delay``, ``max_delay``].
        """
        if retry_after is not None:
            return min(max(retry_after, self.min_delay), self.max_delay)
        ceiling = min(self.max_delay,
                      self.min_delay * 2.0 ** min(max(attempt, 1), 60))
        return max(self.min_delay, rand(0.0, ceiling))

    @classmethod
    def from_options(cls, notifier_opts: Any,
                     queue_metadata: Mapping[str, Any] | None = None,
                     subscription_options: Mapping[str, Any] | None = None
                     ) -> 'RetryPolicy':
        """The operator's policy (``[notifier]`` group), tightened by the
        tenant's ``_retry_policy`` (see the module docstring). Values of
        the wrong type are ignored."""
        cap_retries = int(notifier_opts.max_retries)
        cap_min = float(notifier_opts.min_retry_delay)
        cap_max = max(cap_min, float(notifier_opts.max_retry_delay))
        tenant = _tenant_policy(queue_metadata, subscription_options)

        retries = cap_retries
        wanted = _number(tenant.get('max_retries'))
        if wanted is None:
            counts = [_number(tenant.get(k)) for k in _ZAQAR_RETRY_COUNTS]
            given = [c for c in counts if c is not None]
            wanted = sum(given) if given else None
        if wanted is not None:
            retries = min(cap_retries, max(0, int(wanted)))

        min_delay = _clamp(_number(tenant.get('minimum_delay')), cap_min,
                           cap_min, cap_max)
        max_delay = _clamp(_number(tenant.get('maximum_delay')), cap_max,
                           min_delay, cap_max)
        return cls(max_retries=retries, min_delay=min_delay,
                   max_delay=max_delay)


def _tenant_policy(queue_metadata: Mapping[str, Any] | None,
                   subscription_options: Mapping[str, Any] | None
                   ) -> Mapping[str, Any]:
    queue_policy = _policy_of(queue_metadata)
    sub_policy = _policy_of(subscription_options)
    if (queue_policy.get('ignore_subscription_override') is True
            or sub_policy.get('ignore_subscription_override') is True):
        return queue_policy
    return sub_policy or queue_policy


def _policy_of(holder: Mapping[str, Any] | None) -> Mapping[str, Any]:
    policy = (holder or {}).get('_retry_policy')
    return policy if isinstance(policy, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value:  # NaN
        return None
    return float(value)


def _clamp(value: float | None, default: float, low: float,
           high: float) -> float:
    if value is None:
        return default
    return min(max(value, low), high)
