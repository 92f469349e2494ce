"""Gauges read from storage: sampled at most every ``interval`` seconds
(when scraped), never per request.

:class:`StorageSampler` is a prometheus-client collector. With
``queues``: the ``limit`` deepest queues (``bridge_queue_depth``,
``bridge_queue_oldest_message_age_seconds``, labelled by project and
queue). With ``backlogs``: the ``limit`` subscriptions with the most
pending messages (``bridge_subscription_backlog``, labelled by
subscription id, project and queue). ``limit`` bounds the number of
series whatever the number of tenants. ``bridge_storage_sample_up`` is 0
while the storage cannot be read (the last good sample is not shown).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterator

from oslo_log import log
from prometheus_client.core import GaugeMetricFamily, Metric

from bridge.storage import base, errors, models

LOG = log.getLogger(__name__)


class StorageSampler:
    def __init__(self, storage: base.Storage, *, limit: int,
                 interval: float, queues: bool = False,
                 backlogs: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._storage = storage
        self._limit = limit
        self._interval = interval
        self._queues = queues
        self._backlogs = backlogs
        self._clock = clock
        self._lock = threading.Lock()
        self._taken_at: float | None = None
        self._metrics: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = self._clock()
            if self._taken_at is None or now - self._taken_at >= self._interval:
                self._metrics = self._sample()
                self._taken_at = now
            yield from self._metrics

    def _sample(self) -> list[Metric]:
        up = GaugeMetricFamily('bridge_storage_sample_up', 'Whether the '
                               'last storage sample for metrics succeeded.')
        try:
            metrics = []
            if self._queues:
                metrics += _queue_metrics(self._storage.sample_queues(
                    self._limit))
            if self._backlogs:
                metrics += _backlog_metrics(self._storage.sample_backlogs(
                    self._limit))
        except errors.Unavailable as exc:
            LOG.warning('Storage unavailable for the metrics sample: %s', exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *metrics]


def _queue_metrics(samples: list[models.QueueSample]) -> list[Metric]:
    depth = GaugeMetricFamily(
        'bridge_queue_depth', 'Unexpired messages of the deepest queues '
        '([metrics] sample_limit of them).', labels=['project', 'queue'])
    age = GaugeMetricFamily(
        'bridge_queue_oldest_message_age_seconds', 'Age of the oldest '
        'unexpired message of the deepest queues.',
        labels=['project', 'queue'])
    for s in samples:
        depth.add_metric([s.project, s.queue], s.depth)
        age.add_metric([s.project, s.queue], s.oldest_age)
    return [depth, age]


def _backlog_metrics(samples: list[models.BacklogSample]) -> list[Metric]:
    backlog = GaugeMetricFamily(
        'bridge_subscription_backlog', 'Messages waiting for delivery to '
        'the subscriptions with the most of them ([metrics] sample_limit '
        'of them).', labels=['subscription', 'project', 'queue'])
    for s in samples:
        backlog.add_metric([s.subscription_id, s.project, s.queue],
                           s.backlog)
    return [backlog]
