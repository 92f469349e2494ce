"""Helpers for the packaging tests: processes started as an operator
starts them, and a private corner of the test RabbitMQ vhost."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import uuid
from typing import Iterator

import kombu
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
FIXTURES = REPO / 'tests' / 'fixtures' / 'notifications'
RABBIT_URL = os.environ.get(
    'BRIDGE_TEST_RABBIT_URL', 'rabbit://guest:guest@127.0.0.1:5672/bridge_test')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def sample(name: str) -> dict:
    """A notification fixture, with its exchange and a fresh message_id."""
    with open(FIXTURES / name) as f:
        doc = json.load(f)
    doc['exchange'] = name.split('__', 1)[0]
    doc['message_id'] = str(uuid.uuid4())
    return doc


def wait_for_log(path: pathlib.Path, text: str, timeout: float = 60,
                 proc: subprocess.Popen | None = None) -> None:
    """Until ``text`` appears in the log file; fails with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors='replace') if path.exists() else ''
        if text in content:
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = path.read_text(errors='replace')[-3000:] if path.exists() else ''
    pytest.fail('%r did not appear in %s within %ss:\n%s'
                % (text, path, timeout, tail))


def _amqp(url: str) -> str:
    return 'amqp://' + url.split('://', 1)[1]


def delete_queues(url: str, names: list[str]) -> None:
    with kombu.Connection(_amqp(url), connect_timeout=5) as conn:
        for name in names:
            channel = conn.channel()
            try:
                channel.queue_delete(name)
            except Exception:  # noqa: BLE001 - already gone
                pass


@pytest.fixture
def bus() -> Iterator[dict[str, str]]:
    """A private topic and pool on the test vhost; the pool queue is
    deleted afterwards. Fails (never skips) when RabbitMQ is unreachable."""
    conn = kombu.Connection(_amqp(RABBIT_URL), connect_timeout=5)
    try:
        conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        pytest.fail('RabbitMQ is not reachable at %s (%s); run '
                    'tools/services.sh' % (RABBIT_URL, exc))
    finally:
        conn.release()
    tag = uuid.uuid4().hex[:10]
    names = {'topic': 'notifications_%s' % tag,
             'pool': 'bridge_test_%s' % tag, 'url': RABBIT_URL}
    yield names
    delete_queues(RABBIT_URL, [names['pool']])
