"""The listener service: oslo.messaging batch listeners feeding one endpoint.

One listener per bus (``[DEFAULT] transport_url`` plus
``[listener] extra_transport_urls``), each bound to every
(exchange, topic.priority) pair of the configured exchanges and topics, in
the configured pool: RabbitMQ then gives bridge its own queue with a copy of
every notification, so Ceilometer and other consumers lose nothing. That
queue is durable (or quorum) whatever the services' exchanges are
(:mod:`bridge.listeners.poolqueue`), so a broker restart loses nothing
either.
Several listener processes (``[listener] workers``, or separate hosts) share
the pool queue; the dedup keys keep storage free of duplicates. Each
listener process translates and stores in a store process of its own
(:mod:`bridge.listeners.handoff`) unless ``[listener] store_in_subprocess``
is false.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
import time
from typing import Any, Callable

import oslo_messaging
from oslo_config import cfg
from oslo_log import log
from oslo_messaging.notify import dispatcher as notify_dispatcher

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge import translation
from bridge import wakeups as bridge_wakeups
from bridge.listeners import batching
from bridge.listeners import broker
from bridge.listeners import endpoint as bridge_endpoint
from bridge.listeners import handoff
from bridge.listeners import poolqueue
from bridge.metrics import multiproc
from bridge.metrics import server as metrics_server
from bridge import startup
from bridge.startup import StartupError
from bridge.storage import errors as storage_errors
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
    """The rules file, with [translation] operator_projects added to its
    operator (context deny) projects."""
    path = conf.listener.rules_file or translation.default_rules_path()
    LOG.info('Loading translation rules from %s', path)
    return translation.load_rules(path).with_denied_projects(
        conf.translation.operator_projects)


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
        ownership_grace=conf.translation.ownership_grace,
        wakeups=wakeups)


def open_endpoint(conf: cfg.ConfigOpts) -> handoff.Opened:
    """bridge's endpoint on storage and wake-ups of its own, and the
    function that closes them."""
    storage = bridge_storage.from_conf(conf)
    wakeups = None
    try:
        storage.ensure_schema()
        wakeups = bridge_wakeups.publisher(conf)
        endpoint = make_endpoint(conf, storage, load_rules(conf), wakeups)
    except BaseException:
        storage.close()
        if wakeups is not None:
            wakeups.close()
        raise

    def close() -> None:
        storage.close()
        wakeups.close()
    return endpoint, close


def service_endpoint(conf: cfg.ConfigOpts) -> tuple[Any, Callable[[], None]]:
    """The endpoint a listener process hands its batches to, as
    ``[listener] store_in_subprocess`` asks, and the function that stops
    it. A store process is started at once: call this before the
    listeners start."""
    if not conf.listener.store_in_subprocess:
        return open_endpoint(conf)
    endpoint = handoff.HandoffEndpoint(
        lambda: open_endpoint(conf), connections=conf.listener.threads,
        requeue_delay=conf.listener.requeue_delay)
    endpoint.start()
    return endpoint, endpoint.stop


def targets(conf: cfg.ConfigOpts) -> list[oslo_messaging.Target]:
    return [oslo_messaging.Target(exchange=exchange, topic=topic)
            for exchange in conf.listener.exchanges
            for topic in conf.listener.topics]


def make_listeners(conf: cfg.ConfigOpts, endpoint: Any) -> list[Any]:
    """One batch listener per configured bus, all in the bridge pool, whose
    RabbitMQ queue is durable (bridge.listeners.poolqueue)."""
    listeners = []
    kind = poolqueue.queue_type(conf)
    for url in [None, *conf.listener.extra_transport_urls]:
        transport = oslo_messaging.get_notification_transport(conf, url=url)
        dispatcher = notify_dispatcher.BatchNotificationDispatcher(
            [endpoint], None)
        listener = poolqueue.PoolNotificationServer(
            transport, targets(conf), dispatcher, executor='threading',
            allow_requeue=True, pool=conf.listener.pool,
            batch_size=conf.listener.batch_size,
            batch_timeout=conf.listener.batch_timeout, queue_kind=kind)
        batching.install(listener, conf.listener.batch_linger)
        listeners.append(listener)
    return listeners


def log_durability(conf: cfg.ConfigOpts) -> None:
    """One line on what the pool queue survives, and a warning for each
    setting under which waiting notifications can still be lost."""
    LOG.info('Durability: %s', poolqueue.describe(conf))
    for problem in poolqueue.unsafe_settings(conf):
        LOG.warning('Notifications can be lost: %s', problem)


class ListenerService:
    """Runs the listeners of one process until :meth:`stop`.

    Stopping is graceful: polling stops, batches in flight finish and are
    acked (or requeued), then storage is closed.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.endpoint, self._close_endpoint = service_endpoint(conf)
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
        self._close_endpoint()
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
        self.endpoint.use_rules(rules)
        LOG.info('Translation rules reloaded: %d families, %d enabled routes',
                 len(rules.families), len(rules.routes))
        return True


class _Signals:
    """What signals asked for, and a pipe that wakes the main loop.

    The handlers only assign flags and write a byte: they take no lock
    (no ``Event.set``, no logging), so a second signal arriving while the
    first is handled, as when systemd signals the whole process group and
    the parent forwards the same signal, cannot deadlock the process."""

    def __init__(self) -> None:
        self.stop = 0
        self.reload = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def on_stop(self, signum: int, frame: Any) -> None:
        self.stop = self.stop or signum
        self._poke()

    def on_hangup(self, signum: int, frame: Any) -> None:
        self.reload = True
        self._poke()

    def _poke(self) -> None:
        try:
            os.write(self._write, b'.')
        except BlockingIOError:
            pass  # the loop has wake-ups pending already

    def wait(self, seconds: float) -> None:
        select.select([self._read], [], [], seconds)
        try:
            while os.read(self._read, 512):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


def run_process(conf: cfg.ConfigOpts) -> None:
    """Run one listener process until SIGTERM or SIGINT; SIGHUP reloads
    the rules file."""
    service = ListenerService(conf)
    signals = _Signals()
    signal.signal(signal.SIGTERM, signals.on_stop)
    signal.signal(signal.SIGINT, signals.on_stop)
    signal.signal(signal.SIGHUP, signals.on_hangup)
    service.start()
    next_stats = time.monotonic() + STATS_INTERVAL
    while not signals.stop:
        signals.wait(max(0.0, next_stats - time.monotonic()))
        if signals.reload and not signals.stop:
            signals.reload = False
            LOG.info('SIGHUP received; reloading the translation rules')
            service.reload_rules()
        if time.monotonic() >= next_stats:
            LOG.info('Listener counters: %s',
                     service.endpoint.counters.snapshot())
            next_stats = time.monotonic() + STATS_INTERVAL
    LOG.info('Signal %d received; stopping', signals.stop)
    service.stop()
    signals.close()


def preflight(conf: cfg.ConfigOpts) -> None:
    """What must hold before any listener process starts: the rules load,
    the storage answers (its schema is created), every bus answers. Each
    failure is a StartupError or storage Unavailable, which the command
    reports in a line or two."""
    try:
        load_rules(conf)
    except (translation.RulesError, OSError) as exc:
        raise StartupError('cannot load the translation rules: %s' % exc,
                           'check [listener] rules_file.')
    url = bridge_conf.storage_url(conf)
    store = bridge_storage.from_url(url, conf)
    try:
        store.ensure_schema()
    except storage_errors.Unavailable as exc:
        raise startup.storage_unavailable(url, exc)
    finally:
        store.close()
    broker.check(conf)


def start_metrics(conf: cfg.ConfigOpts) -> Any:
    """Serve the metrics of every listener process on [listener]
    metrics_port (None when 0). Before the workers fork."""
    if not conf.listener.metrics_port:
        return None
    multiproc.prepare()
    return metrics_server.serve(conf.metrics.host, conf.listener.metrics_port)


def run(conf: cfg.ConfigOpts) -> None:
    """Run ``[listener] workers`` listener processes (this one when 1)."""
    preflight(conf)
    log_durability(conf)
    server = start_metrics(conf)
    try:
        _run_workers(conf, server)
    finally:
        if server is not None:
            server.shutdown()


def _worker(conf: cfg.ConfigOpts, metrics: Any) -> None:
    """A forked listener process: the metrics socket stays the parent's
    (a worker outliving it must not keep the port)."""
    if metrics is not None:
        metrics.socket.close()
    run_process(conf)


def _run_workers(conf: cfg.ConfigOpts, metrics: Any) -> None:
    workers = conf.listener.workers
    if workers == 1:
        run_process(conf)
        return
    ctx = multiprocessing.get_context('fork')
    children = [ctx.Process(target=_worker, args=(conf, metrics),
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
        if child.exitcode:
            LOG.error('Listener process %s ended with status %s',
                      child.pid, child.exitcode)
