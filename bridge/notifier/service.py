"""The notifier service: leases subscriptions that have work and delivers
them on a thread pool.

Any number of notifier processes (on any hosts) share the work through
storage leases: a subscription is leased by one notifier at a time, so its
messages are never sent twice at once and stay in order; a notifier that
dies loses its leases after ``[notifier] lease_seconds`` and another one
carries on from the recorded cursor. Delivery state lives only in storage,
never in memory.

The loop asks for at most as many subscriptions as it has idle threads:
again at once while it finds work, then at growing intervals up to
``poll_interval`` seconds when idle. :meth:`NotifierService.stop` (SIGTERM) lets each run finish the
message in flight, record it and release its lease, then returns.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import socket
import threading
import time
import uuid
from typing import Any

from oslo_log import log

from bridge.notifier import delivery
from bridge.notifier import email as email_mod
from bridge.notifier import webhook
from bridge.storage import base, models
from bridge.storage import errors

LOG = log.getLogger(__name__)

STATS_INTERVAL = 60.0
FAST_POLL_FRACTION = 0.1
"""After finding work, the next looks for more come this fraction of
``poll_interval`` apart, doubling back to ``poll_interval`` while none is
found: low latency under traffic, few queries when idle."""
UNAVAILABLE_BACKOFF = (0.5, 5.0)
"""First and longest wait after the storage could not be reached."""


def make_owner() -> str:
    """A lease owner id unique to this process: host-pid-random."""
    return '%s-%d-%s' % (socket.gethostname(), os.getpid(),
                         uuid.uuid4().hex[:8])


class NotifierService:
    """One notifier process's deliveries. ``run`` blocks until ``stop``."""

    def __init__(self, conf: Any, storage: base.Storage, *,
                 owner: str | None = None) -> None:
        opts = conf.notifier
        self.opts = opts
        self.storage = storage
        self.owner = owner or make_owner()
        self.webhooks = webhook.WebhookSender(
            connect_timeout=opts.connect_timeout,
            read_timeout=opts.read_timeout,
            allowed_hosts=opts.allowed_subscriber_hosts)
        self.mailer = email_mod.EmailSender(
            conf.smtp, connect_timeout=opts.connect_timeout,
            read_timeout=opts.read_timeout)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.deliverer = delivery.Deliverer(
            conf, storage, self.owner, webhooks=self.webhooks,
            mailer=self.mailer, should_stop=self._stop.is_set)
        self._lock = threading.Lock()
        self._in_flight = 0
        self.counters: collections.Counter[str] = collections.Counter()
        if opts.connect_timeout + opts.read_timeout >= opts.lease_seconds:
            LOG.warning('[notifier] connect_timeout + read_timeout (%.1fs) is '
                        'not shorter than lease_seconds (%.1fs): a slow '
                        'receiver can outlast a lease, and another notifier '
                        'may then send the same message at the same time',
                        opts.connect_timeout + opts.read_timeout,
                        opts.lease_seconds)

    # -- control -----------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop and every run to stop (safe from a signal handler);
        :meth:`run` returns once in-flight runs have recorded and released
        their subscriptions."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        threads = self.opts.threads
        LOG.info('Notifier %s delivering with %d threads', self.owner,
                 threads)
        pool = concurrent.futures.ThreadPoolExecutor(
            threads, thread_name_prefix='notifier')
        try:
            self._loop(pool, threads)
        finally:
            pool.shutdown(wait=True)
            self.webhooks.close()
            LOG.info('Notifier %s stopped: %s', self.owner,
                     dict(self.counters))

    # -- the loop ----------------------------------------------------------

    def _loop(self, pool: concurrent.futures.ThreadPoolExecutor,
              threads: int) -> None:
        backoff = 0.0
        poll = self.opts.poll_interval
        next_stats = time.monotonic() + STATS_INTERVAL
        while not self._stop.is_set():
            if time.monotonic() >= next_stats:
                LOG.info('Notifier counters: %s', dict(self.counters))
                next_stats = time.monotonic() + STATS_INTERVAL
            with self._lock:
                free = threads - self._in_flight
            if free <= 0:
                self._idle(self.opts.poll_interval)
                continue
            self._wake.clear()
            try:
                leased = self.storage.lease_subscriptions(
                    self.owner, lease_seconds=self.opts.lease_seconds,
                    limit=free)
            except errors.Unavailable as exc:
                backoff = min(max(backoff * 2, UNAVAILABLE_BACKOFF[0]),
                              UNAVAILABLE_BACKOFF[1])
                LOG.warning('Storage unavailable while looking for work '
                            '(%s); trying again in %.1fs', exc, backoff)
                self._idle(backoff)
                continue
            backoff = 0.0
            with self._lock:
                self.counters['lease_queries'] += 1
                self.counters['leased'] += len(leased)
            for sub in leased:
                with self._lock:
                    self._in_flight += 1
                pool.submit(self._work, sub)
            if leased:
                # Busy: look again at once, then soon (more messages are
                # likely to follow), slowing down while nothing comes.
                poll = self.opts.poll_interval * FAST_POLL_FRACTION
                continue
            self._idle(poll)
            poll = min(poll * 2, self.opts.poll_interval)

    def _idle(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _work(self, sub: models.Subscription) -> None:
        try:
            summary = self.deliverer.run(sub)
            self._count(summary)
        except errors.Unavailable as exc:
            self._bump('storage_errors')
            LOG.warning('Storage unavailable while delivering subscription '
                        '%s (%s); it is delivered again once its lease '
                        'expires', sub.id, exc)
        except errors.KeyUnavailable as exc:
            self._bump('errors')
            LOG.error('Cannot deliver subscription %s of queue %s/%s: %s; '
                      'it is tried again once its lease expires', sub.id,
                      sub.project, sub.queue, exc)
        except Exception:  # a bug: keep the thread, report loudly
            self._bump('errors')
            LOG.exception('Delivery run of subscription %s failed', sub.id)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

    def _bump(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _count(self, summary: delivery.RunSummary) -> None:
        with self._lock:
            self.counters['runs'] += 1
            self.counters['delivered'] += summary.delivered
            self.counters['failed'] += summary.failed
            self.counters['filtered'] += summary.filtered
            self.counters['retries'] += int(summary.retry_scheduled)
            self.counters['confirmations'] += int(summary.confirmation_sent)
            self.counters['leases_lost'] += int(summary.lease_lost)
