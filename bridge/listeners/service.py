"""The listener service: oslo.messaging batch listeners feeding one endpoint.

One listener per bus (``[DEFAULT] transport_url`` plus
``[listener] extra_transport_urls``), each bound to every
(exchange, topic.priority) pair of the configured exchanges and topics, in
the configured pool: RabbitMQ then gives bridge its own queue with a copy of
every notification, so Ceilometer and other consumers lose nothing.
Several listener processes (``[listener] workers``, or separate hosts) share
the pool queue; the dedup keys keep storage free of duplicates.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log

from bridge import storage as bridge_storage
from bridge import translation
from bridge import wakeups as bridge_wakeups
from bridge.listeners import batching
from bridge.listeners import endpoint as bridge_endpoint
from bridge.wakeups import Publisher

LOG = log.getLogger(__name__)

#: Seconds between two counter log lines.
STATS_INTERVAL = 60.0


def register_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.messaging's [DEFAULT] options (transport_url, control_exchange,
    executor_thread_pool_size), so config files and tests can set them
    before a transport exists."""
    from oslo_messaging import opts as messaging_opts
    for group, opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts(opts)


def load_rules(conf: cfg.ConfigOpts) -> translation.Rules:
    path = conf.listener.rules_file or translation.default_rules_path()
    LOG.info('Loading translation rules from %s', path)
    return translation.load_rules(path)


def make_endpoint(conf: cfg.ConfigOpts, storage: Any,
                  rules: translation.Rules,
                  wakeups: Publisher | None = None
                  ) -> bridge_endpoint.BridgeEndpoint:
    lc = conf.listener
    return bridge_endpoint.BridgeEndpoint(
        storage, rules,
        default_ttl=conf.limits.default_message_ttl,
        dead_letter_project=lc.dead_letter_project,
        dead_letter_queue=lc.dead_letter_queue,
        dead_letter_ttl=lc.dead_letter_ttl,
        max_queue_depth=lc.max_queue_depth,
        requeue_delay=lc.requeue_delay,
        wakeups=wakeups)


def targets(conf: cfg.ConfigOpts) -> list[oslo_messaging.Target]:
    return [oslo_messaging.Target(exchange=exchange, topic=topic)
            for exchange in conf.listener.exchanges
            for topic in conf.listener.topics]


def make_listeners(conf: cfg.ConfigOpts, endpoint: Any) -> list[Any]:
    """One batch listener per configured bus, all in the bridge pool."""
    listeners = []
    for url in [None, *conf.listener.extra_transport_urls]:
        transport = oslo_messaging.get_notification_transport(conf, url=url)
        listener = oslo_messaging.get_batch_notification_listener(
            transport, targets(conf), [endpoint],
            executor='threading', allow_requeue=True,
            pool=conf.listener.pool,
            batch_size=conf.listener.batch_size,
            batch_timeout=conf.listener.batch_timeout)
        batching.install(listener, conf.listener.batch_linger)
        listeners.append(listener)
    return listeners


class ListenerService:
    """Runs the listeners of one process until :meth:`stop`.

    Stopping is graceful: polling stops, batches in flight finish and are
    acked (or requeued), then storage is closed.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.storage = bridge_storage.from_conf(conf)
        self.storage.ensure_schema()
        self.wakeups = bridge_wakeups.publisher(conf)
        self.endpoint = make_endpoint(conf, self.storage, load_rules(conf),
                                      self.wakeups)
        self.listeners = make_listeners(conf, self.endpoint)
        self._stopped = threading.Event()

    def start(self) -> None:
        for listener in self.listeners:
            listener.start(override_pool_size=self.conf.listener.threads)
        LOG.info('Listening on %d bus(es), pool %r, exchanges %s, topics %s',
                 len(self.listeners), self.conf.listener.pool,
                 ','.join(self.conf.listener.exchanges),
                 ','.join(self.conf.listener.topics))

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        for listener in self.listeners:
            listener.stop()
        for listener in self.listeners:
            listener.wait()
        self.storage.close()
        self.wakeups.close()
        LOG.info('Listener stopped: %s', self.endpoint.counters.snapshot())

    def wait(self) -> None:
        self._stopped.wait()

    def reload_rules(self) -> bool:
        """Read the rules file again and use it for the batches that start
        from now on. An invalid file changes nothing: the error is logged
        and the current rules stay. Other options need a restart."""
        try:
            rules = load_rules(self.conf)
        except translation.RulesError as exc:
            LOG.error('Keeping the current translation rules: %s', exc)
            return False
        self.endpoint.rules = rules
        LOG.info('Translation rules reloaded: %d families, %d enabled routes',
                 len(rules.families), len(rules.routes))
        return True


def run_process(conf: cfg.ConfigOpts) -> None:
    """Run one listener process until SIGTERM or SIGINT; SIGHUP reloads
    the rules file."""
    service = ListenerService(conf)
    stop = threading.Event()
    reload = threading.Event()
    wake = threading.Event()

    def on_stop(signum: int, frame: Any) -> None:
        LOG.info('Signal %d received; stopping', signum)
        stop.set()
        wake.set()

    def on_hangup(signum: int, frame: Any) -> None:
        reload.set()
        wake.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hangup)
    service.start()
    next_stats = time.monotonic() + STATS_INTERVAL
    while not stop.is_set():
        wake.wait(max(0.0, next_stats - time.monotonic()))
        wake.clear()
        if reload.is_set() and not stop.is_set():
            reload.clear()
            LOG.info('SIGHUP received; reloading the translation rules')
            service.reload_rules()
        if time.monotonic() >= next_stats:
            LOG.info('Listener counters: %s',
                     service.endpoint.counters.snapshot())
            next_stats = time.monotonic() + STATS_INTERVAL
    service.stop()


def run(conf: cfg.ConfigOpts) -> None:
    """Run ``[listener] workers`` listener processes (this one when 1)."""
    workers = conf.listener.workers
    if workers == 1:
        run_process(conf)
        return
    ctx = multiprocessing.get_context('fork')
    children = [ctx.Process(target=run_process, args=(conf,),
                            name='bridge-listener-%d' % i)
                for i in range(workers)]
    for child in children:
        child.start()

    def forward(signum: int, frame: Any) -> None:
        sent = signal.SIGHUP if signum == signal.SIGHUP else signal.SIGTERM
        for child in children:
            if child.pid and child.is_alive():
                os.kill(child.pid, sent)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)
    for child in children:
        child.join()
