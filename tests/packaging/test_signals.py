"""Services stop promptly and cleanly on SIGTERM (as systemd, devstack's
``stop_process`` and ``tools/quickstart.sh stop`` send it), and
``bridge-listener`` reloads its rules file on SIGHUP.

(``bridge-api``: tests/api/test_commands.py checks that SIGTERM ends it
with exit status 0, and tests/api/test_server.py that it answers the
requests it holds first.)"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import time
from typing import Iterator

import pytest
import yaml

from bridge import emitter
from bridge import storage as bridge_storage
from bridge import translation
from tests.listeners.conftest import make_conf
from tests.packaging.conftest import BIN, sample, wait_for_log

STOP_WITHIN = 15.0


class Service:
    """A console script started with a config file, logging to a file."""

    def __init__(self, name: str, config: pathlib.Path,
                 workdir: pathlib.Path) -> None:
        self.log = workdir / (name + '.log')
        with open(self.log, 'wb') as out:
            self.proc = subprocess.Popen(
                [str(BIN / name), '--config-file', str(config)],
                stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=workdir)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> tuple[int, float]:
        """SIGTERM; (exit status, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(STOP_WITHIN)
        return code, time.monotonic() - started


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait(30)


def write_rules(path: pathlib.Path, queue: str) -> None:
    """The default rules with the catch-all route writing to ``queue``."""
    with open(translation.default_rules_path()) as f:
        doc = yaml.safe_load(f)
    for route in doc['routes']:
        if route.get('name') == 'per-service':
            route['queue'] = queue
    path.write_text(yaml.safe_dump(doc))


def listener_config(tmp_path: pathlib.Path, bus: dict[str, str],
                    rules: pathlib.Path) -> pathlib.Path:
    config = tmp_path / 'bridge.conf'
    config.write_text('\n'.join([
        '[DEFAULT]', 'transport_url = %s' % bus['url'],
        '[storage]', 'url = sqlite:///%s' % (tmp_path / 'bridge.sqlite'),
        '[listener]', 'pool = %s' % bus['pool'], 'topics = %s' % bus['topic'],
        'exchanges = cinder', 'batch_timeout = 0.1',
        'rules_file = %s' % rules, '']))
    return config


def publish_volume_event(bus: dict[str, str]) -> tuple[str, str]:
    """Publish a Cinder event on the private topic; (message_id, owner)."""
    event = dict(sample('cinder__volume.create.end.json'),
                 topic=bus['topic'])
    with emitter.Emitter(bus['url']) as out:
        return out.publish(event), event['payload']['tenant_id']


def wait_stored(tmp_path: pathlib.Path, project: str, queue: str,
                message_id: str, timeout: float = 30) -> None:
    url = 'sqlite:///%s' % (tmp_path / 'bridge.sqlite')
    store = bridge_storage.from_url(url, make_conf(url))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            page = store.list_messages(project, queue, limit=100, echo=True)
            if any(m.body['id'] == message_id for m in page.messages):
                return
            time.sleep(0.2)
    finally:
        store.close()
    pytest.fail('event %s never reached %s/%s' % (message_id, project, queue))


def test_listener_exits_0_promptly_on_sigterm(
        tmp_path: pathlib.Path, bus: dict[str, str],
        services: list[Service]) -> None:
    rules = tmp_path / 'rules.yaml'
    write_rules(rules, '{service}-events')
    listener = Service('bridge-listener',
                       listener_config(tmp_path, bus, rules), tmp_path)
    services.append(listener)
    wait_for_log(listener.log, 'Listening on', proc=listener.proc)

    code, seconds = listener.stop()

    assert code == 0, listener.log.read_text()
    assert seconds < 10
    assert 'Listener stopped' in listener.log.read_text()


def test_listener_reloads_rules_on_sighup_and_keeps_them_if_invalid(
        tmp_path: pathlib.Path, bus: dict[str, str],
        services: list[Service]) -> None:
    rules = tmp_path / 'rules.yaml'
    write_rules(rules, '{service}-events')
    listener = Service('bridge-listener',
                       listener_config(tmp_path, bus, rules), tmp_path)
    services.append(listener)
    wait_for_log(listener.log, 'Listening on', proc=listener.proc)
    first, owner = publish_volume_event(bus)
    wait_stored(tmp_path, owner, 'cinder-events', first)

    write_rules(rules, '{service}-reloaded')
    listener.signal(signal.SIGHUP)
    wait_for_log(listener.log, 'Translation rules reloaded',
                 proc=listener.proc)
    second, _ = publish_volume_event(bus)
    wait_stored(tmp_path, owner, 'cinder-reloaded', second)

    rules.write_text('version: 1\nroutes: [{queue: "{tenant}"}]\n')
    listener.signal(signal.SIGHUP)
    wait_for_log(listener.log, 'Keeping the current translation rules',
                 proc=listener.proc)
    third, _ = publish_volume_event(bus)
    wait_stored(tmp_path, owner, 'cinder-reloaded', third)

    assert listener.stop()[0] == 0


def test_notifier_exits_0_promptly_on_sigterm(
        tmp_path: pathlib.Path, services: list[Service]) -> None:
    config = tmp_path / 'bridge.conf'
    config.write_text('[storage]\nurl = sqlite:///%s\n'
                      % (tmp_path / 'bridge.sqlite'))
    notifier = Service('bridge-notifier', config, tmp_path)
    services.append(notifier)
    # Running means it has opened storage and created the schema.
    deadline = time.monotonic() + 30
    while not (tmp_path / 'bridge.sqlite').exists():
        assert notifier.proc.poll() is None, notifier.log.read_text()
        assert time.monotonic() < deadline, notifier.log.read_text()
        time.sleep(0.1)
    time.sleep(1.0)

    code, seconds = notifier.stop()

    assert code == 0, notifier.log.read_text()
    assert seconds < 10


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = pathlib.Path('/proc/%s/stat' % entry).read_text()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_listener_workers_stop_on_repeated_sigterm(
        tmp_path: pathlib.Path, bus: dict[str, str]) -> None:
    """systemd signals every process of the unit (and the parent forwards
    the signal to its workers): a worker gets SIGTERM twice or more, maybe
    while handling the first. It must still stop, never deadlock."""
    rules = tmp_path / 'rules.yaml'
    write_rules(rules, '{service}-events')
    config = listener_config(tmp_path, bus, rules)
    config.write_text(config.read_text() + 'workers = 2\n')
    log = tmp_path / 'listener.log'
    with open(log, 'wb') as out:
        proc = subprocess.Popen(
            [str(BIN / 'bridge-listener'), '--config-file', str(config)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while log.read_text(errors='replace').count('Listening on') < 2:
            assert proc.poll() is None and time.monotonic() < deadline, \
                log.read_text(errors='replace')
            time.sleep(0.1)
        workers = children(proc.pid)
        assert len(workers) == 2
        # A stream of SIGTERMs to the workers, some landing while the
        # previous one is being handled; then one to the parent, which
        # forwards it once more.
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            time.sleep(0.0005)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_WITHIN) == 0
        assert log.read_text().count('Listener stopped') == 2
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
