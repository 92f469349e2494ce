"""Every counter and histogram bridge's processes export.

All are labelled (prometheus-client creates a labelled child when first
used, so :func:`bridge.metrics.multiproc.prepare` may run after this module
is imported). Label values come from bounded sets only.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

#: Seconds; from a fast API answer to a slow webhook.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0, 30.0)
#: Seconds from an event to its storage, or from a post to its delivery.
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
               300.0, 900.0, 3600.0)

# -- API -------------------------------------------------------------------

API_REQUESTS = Counter(
    'bridge_api_requests', 'API requests answered, by route template '
    '("unmatched" when no route matched), method and status.',
    ['route', 'method', 'status'])
API_LATENCY = Histogram(
    'bridge_api_request_duration_seconds', 'Seconds from receiving an API '
    'request to sending the last byte of its answer.',
    ['route', 'method'], buckets=LATENCY_BUCKETS)

# -- listener --------------------------------------------------------------

#: What became of a notification (``bridge_listener_notifications``).
LISTENER_OUTCOMES = ('stored', 'dropped', 'dead_lettered', 'requeued',
                     'lost')

LISTENER_RECEIVED = Counter(
    'bridge_listener_received', 'Notifications taken off the bus, by '
    'service and event family of the rules ("none": no family matched).',
    ['service', 'family'])
LISTENER_NOTIFICATIONS = Counter(
    'bridge_listener_notifications', 'Notifications handled, by service, '
    'event family and outcome: stored in a tenant queue, dropped by a '
    'rule, dead_lettered (unroutable, or refused by its queue), requeued '
    '(storage unavailable; the bus delivers them again) or lost (not even '
    'the dead-letter queue took it).', ['service', 'family', 'outcome'])
LISTENER_LAG = Histogram(
    'bridge_listener_lag_seconds', 'Seconds from the timestamp of a '
    'notification to its storage in a tenant queue.', ['service'],
    buckets=LAG_BUCKETS)

# -- notifier --------------------------------------------------------------

NOTIFIER_ATTEMPTS = Counter(
    'bridge_notifier_attempts', 'Delivery attempts (confirmation requests '
    'included), by subscriber kind (webhook, email) and result: delivered, '
    'retry (a failure that may pass) or final.', ['kind', 'result'])
NOTIFIER_DELIVERIES = Counter(
    'bridge_notifier_deliveries', 'Messages done with, by subscriber kind '
    'and outcome: delivered, gave_up (retries exhausted) or rejected (a '
    'final failure).', ['kind', 'outcome'])
NOTIFIER_SEND_SECONDS = Histogram(
    'bridge_notifier_send_duration_seconds', 'Seconds one delivery attempt '
    'took (connect, send, answer).', ['kind'], buckets=LATENCY_BUCKETS)
NOTIFIER_LATENCY = Histogram(
    'bridge_notifier_delivery_latency_seconds', 'Seconds from a message '
    'being stored to its delivery.', ['kind'], buckets=LAG_BUCKETS)
