"""Retry policy: exponential back-off with jitter, Retry-After, and tenant
overrides that stay within the operator's limits."""

import types

import pytest

from bridge.notifier.retry import RetryPolicy

OPERATOR = types.SimpleNamespace(max_retries=10, min_retry_delay=1.0,
                                 max_retry_delay=300.0)


def policy(queue=None, sub=None):
    return RetryPolicy.from_options(OPERATOR, queue, sub)


def test_without_tenant_settings_the_operator_policy_applies():
    assert policy() == RetryPolicy(max_retries=10, min_delay=1.0,
                                   max_delay=300.0)


def test_a_subscription_may_ask_for_fewer_retries_and_gentler_delays():
    p = policy(sub={'_retry_policy': {'max_retries': 3, 'minimum_delay': 5,
                                      'maximum_delay': 60}})
    assert p == RetryPolicy(max_retries=3, min_delay=5.0, max_delay=60.0)


def test_a_tenant_cannot_exceed_the_operator_limits():
    p = policy(sub={'_retry_policy': {'max_retries': 1000,
                                      'minimum_delay': 0,
                                      'maximum_delay': 10 ** 6}})
    assert p == RetryPolicy(max_retries=10, min_delay=1.0, max_delay=300.0)


def test_zaqar_retry_counts_add_up_to_the_retries():
    p = policy(sub={'_retry_policy': {'retries_with_no_delay': 1,
                                      'minimum_delay_retries': 2,
                                      'maximum_delay_retries': 1}})
    assert p.max_retries == 4


def test_the_subscription_policy_overrides_the_queue_policy_unless_forbidden():
    queue = {'_retry_policy': {'max_retries': 2}}
    sub = {'_retry_policy': {'max_retries': 5}}
    assert policy(queue, sub).max_retries == 5
    assert policy(queue, {}).max_retries == 2
    locked = {'_retry_policy': {'max_retries': 2,
                                'ignore_subscription_override': True}}
    assert policy(locked, sub).max_retries == 2


@pytest.mark.parametrize('bad', ['3', None, True, [], float('nan')])
def test_values_of_the_wrong_type_are_ignored(bad):
    p = policy(sub={'_retry_policy': {'max_retries': bad,
                                      'minimum_delay': bad}})
    assert p == policy()


def test_gives_up_after_max_retries_failed_retries():
    p = RetryPolicy(max_retries=2, min_delay=1, max_delay=10)
    assert not p.gives_up(1)
    assert not p.gives_up(2)  # first attempt + 1 retry failed
    assert p.gives_up(3)      # first attempt + 2 retries failed


def test_delay_grows_exponentially_within_bounds_with_full_jitter():
    p = RetryPolicy(max_retries=10, min_delay=1.0, max_delay=30.0)
    highest = lambda low, high: high  # noqa: E731
    lowest = lambda low, high: low  # noqa: E731
    assert [p.delay(n, rand=highest) for n in range(1, 7)] == \
        [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert p.delay(5, rand=lowest) == 1.0  # never below the minimum
    delays = {p.delay(4) for _ in range(50)}
    assert len(delays) > 1 and all(1.0 <= d <= 16.0 for d in delays)


def test_retry_after_replaces_the_backoff_within_the_operator_bounds():
    p = RetryPolicy(max_retries=10, min_delay=1.0, max_delay=30.0)
    assert p.delay(1, retry_after=7) == 7
    assert p.delay(1, retry_after=3600) == 30.0
    assert p.delay(1, retry_after=0) == 1.0
