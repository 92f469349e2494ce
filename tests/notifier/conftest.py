"""Fixtures for the notifier tests: a configuration allowing deliveries to
127.0.0.1 with short retry delays, SQLite storage in the test's temporary
directory, a real webhook receiver, a real SMTP server, and notifier
services run in threads (stopped at the end of the test)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge.notifier import service as notifier_service
from bridge.storage import base, models

from tests.notifier.receiver import Receiver
from tests.notifier.smtp import SmtpServer

EVENT = 'compute.instance.create.end'

NOTIFIER_DEFAULTS: dict[str, Any] = {
    'allowed_subscriber_hosts': ['127.0.0.1', 'localhost'],
    'min_retry_delay': 0.05,
    'max_retry_delay': 0.5,
    'connect_timeout': 1.0,
    'read_timeout': 0.5,
    'poll_interval': 0.02,
    'lease_seconds': 5.0,
    'threads': 4,
}


def make_conf(storage_url: str, smtp_port: int | None = None,
              **notifier: Any) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], project='bridge-test', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('url', storage_url, group='storage')
    for key, value in dict(NOTIFIER_DEFAULTS, **notifier).items():
        conf.set_override(key, value, group='notifier')
    if smtp_port is not None:
        conf.set_override('port', smtp_port, group='smtp')
        conf.set_override('host', '127.0.0.1', group='smtp')
        conf.set_override('sender', 'bridge@example.org', group='smtp')
    return conf


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return 'sqlite:///%s' % (tmp_path / 'bridge.sqlite')


@pytest.fixture
def store(sqlite_url) -> Iterator[base.Storage]:
    s = bridge_storage.from_url(sqlite_url, make_conf(sqlite_url))
    s.ensure_schema()
    yield s
    s.close()


@pytest.fixture
def project() -> str:
    return 'p-' + uuid.uuid4().hex[:12]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    s = SmtpServer().start()
    yield s
    s.stop()


def subscribe(store: base.Storage, project: str, queue: str,
              subscriber: str, **options: Any) -> models.Subscription:
    return store.create_subscription(
        project, queue, subscriber, ttl=3600, options=options,
        secret='s3cret-' + uuid.uuid4().hex, confirmed=True)


def post(store: base.Storage, project: str, queue: str, count: int,
         event_type: str = EVENT, start: int = 0) -> list[str]:
    """Post ``count`` messages whose bodies carry ``seq`` = start, ..."""
    return store.post_messages(project, queue, [
        models.NewMessage(body={'event_type': event_type, 'seq': start + i},
                        ttl=3600)
        for i in range(count)])


class Running:
    """A NotifierService running in a thread."""

    def __init__(self, conf: cfg.ConfigOpts, storage: base.Storage) -> None:
        self.service = notifier_service.NotifierService(conf, storage)
        self.thread = threading.Thread(target=self.service.run, daemon=True)

    def start(self) -> 'Running':
        self.thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self.service.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), 'notifier did not stop'


@pytest.fixture
def run_notifier() -> Iterator[Callable[..., Running]]:
    """``run_notifier(conf, storage)`` starts a notifier service; all are
    stopped when the test ends."""
    started: list[Running] = []

    def start(conf: cfg.ConfigOpts, storage: base.Storage) -> Running:
        running = Running(conf, storage).start()
        started.append(running)
        return running

    yield start
    for running in started:
        with contextlib.suppress(AssertionError):
            running.stop()


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0,
               what: str = 'condition') -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s' % what)
        time.sleep(0.02)
