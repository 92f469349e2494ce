"""``tools/quickstart.sh`` and ``bridge-demo`` as a newcomer uses them:
start the three services, publish the demo events, read them through the
API with python-zaqarclient as the demo project, stop everything."""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import time
import uuid
from typing import Iterator

import pytest
from zaqarclient.queues.v2 import client as zaqar_client

from bridge import demo, translation
from tests.packaging.conftest import BIN, REPO, free_port

QUICKSTART = REPO / 'tools' / 'quickstart.sh'
SERVICES = ('bridge-api', 'bridge-listener', 'bridge-notifier')
DEMO_EVENTS = {
    ('cinder-events', 'volume.attach.end'),
    ('cinder-events', 'volume.create.end'),
    ('glance-events', 'image.create'),
    ('heat-events', 'orchestration.stack.create.end'),
    ('neutron-events', 'network.create.end'),
    ('neutron-events', 'port.create.end'),
    ('nova-events', 'compute.instance.create.end'),
    ('nova-events', 'instance.create.end'),
}


class QuickStart:
    def __init__(self, state: pathlib.Path, bus: dict[str, str]) -> None:
        self.state = state
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.transport_url = bus['url']
        self.env = dict(os.environ,
                        BRIDGE_QUICKSTART_DIR=str(state),
                        BRIDGE_API_PORT=str(self.port),
                        BRIDGE_TRANSPORT_URL=bus['url'],
                        BRIDGE_LISTENER_POOL=bus['pool'],
                        BRIDGE_VENV=str(BIN.parent))

    def run(self, *args: str, timeout: float = 240
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(['bash', str(QUICKSTART), *args], env=self.env,
                              capture_output=True, text=True,
                              timeout=timeout)

    def pids(self) -> dict[str, int]:
        found = {}
        for name in SERVICES:
            path = self.state / 'run' / (name + '.pid')
            if path.exists():
                found[name] = int(path.read_text())
        return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def quickstart(tmp_path: pathlib.Path, bus: dict[str, str]
               ) -> Iterator[QuickStart]:
    qs = QuickStart(tmp_path / 'state', bus)
    yield qs
    leftovers = qs.pids()
    qs.run('stop', timeout=60)
    for pgid in leftovers.values():
        if group_alive(pgid):
            os.killpg(pgid, 9)


def read_events(url: str, project: str, want: int,
                timeout: float = 30) -> set[tuple[str, str]]:
    """(queue, event_type) of every message the project can read, once
    ``want`` have arrived (or the timeout passed)."""
    zaqar = zaqar_client.Client(url, version=2, conf={'auth_opts': {
        'backend': 'noauth', 'options': {'os_project_id': project}}})
    deadline = time.monotonic() + timeout
    while True:
        seen = []
        for queue in zaqar.queues()[0]:
            for message in queue.messages():
                assert message.body['project_id'] == project
                seen.append((queue.name, message.body['event_type']))
        if len(seen) >= want or time.monotonic() > deadline:
            assert len(seen) == len(set(seen))
            return set(seen)
        time.sleep(0.5)


def test_quickstart_runs_the_demo_end_to_end_and_stops_cleanly(
        quickstart: QuickStart) -> None:
    started = quickstart.run('start')
    assert started.returncode == 0, started.stdout + started.stderr
    assert 'bridge is running' in started.stdout
    assert 'API       %s' % quickstart.url in started.stdout
    assert 'tools/quickstart.sh stop' in started.stdout
    pids = quickstart.pids()
    assert sorted(pids) == sorted(SERVICES)
    assert quickstart.run('status').returncode == 0
    config = (quickstart.state / 'bridge.conf').read_text()
    assert 'auth_strategy = noauth' in config
    assert 'state_path = %s' % quickstart.state in config

    project = 'demo-' + uuid.uuid4().hex[:8]
    demo = subprocess.run(
        [str(BIN / 'bridge-demo'), '--transport-url',
         quickstart.transport_url, '--project', project,
         '--api-url', quickstart.url],
        capture_output=True, text=True, timeout=60)
    assert demo.returncode == 0, demo.stderr
    assert 'Published 8 notifications' in demo.stdout
    assert '-H "X-Project-Id: %s"' % project in demo.stdout

    assert read_events(quickstart.url, project, len(DEMO_EVENTS)) \
        == DEMO_EVENTS
    assert read_events(quickstart.url, project + '-other', 0,
                       timeout=0) == set()
    assert (quickstart.state / 'bridge.sqlite').exists()

    again = quickstart.run('start')
    assert again.returncode == 0, again.stderr
    assert 'bridge-api already running (pid %d)' % pids['bridge-api'] \
        in again.stdout
    assert quickstart.pids() == pids

    stopped = quickstart.run('stop', timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert [name for name, pgid in pids.items() if group_alive(pgid)] == []
    assert quickstart.run('status').returncode == 3
    assert 'Signal 15 received; stopping' in (
        quickstart.state / 'log' / 'bridge-listener.log').read_text()


def test_quickstart_refuses_a_port_in_use(quickstart: QuickStart) -> None:
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', quickstart.port))
        busy.listen()
        done = quickstart.run('start')
    assert done.returncode == 1
    assert 'port %d is in use; set BRIDGE_API_PORT' % quickstart.port \
        in done.stderr
    assert quickstart.pids() == {}


def test_quickstart_shellcheck_clean() -> None:
    assert shutil.which('shellcheck'), (
        'shellcheck is not installed (apt-get install shellcheck)')
    done = subprocess.run(['shellcheck', str(QUICKSTART)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_demo_rewrites_every_sample_to_the_given_project() -> None:
    rules = translation.load_rules(translation.default_rules_path())
    samples = demo.load_samples()
    assert len(samples) == len(DEMO_EVENTS)
    seen = set()
    for sample in samples:
        event, queue = demo.for_project(sample, 'p-42', rules)
        assert event['message_id'] != sample['message_id']
        seen.add((queue, event['event_type']))
    assert seen == DEMO_EVENTS
