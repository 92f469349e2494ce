"""``bridge-api`` and ``bridge-manage`` as a user runs them."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from typing import Iterator

import pytest
import requests
from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge.api import server as api_server
from bridge.cmd import api as api_cmd

BIN = pathlib.Path(sys.executable).parent
HEADERS = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': 'project-a'}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_conf(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text)
    return path


class Server:
    """A ``bridge-api`` subprocess in its own process group."""

    def __init__(self, args: list[str], cwd: pathlib.Path,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.log = cwd / 'bridge-api.log'
        with open(self.log, 'wb') as out:
            self.proc = subprocess.Popen(
                [str(BIN / 'bridge-api'), *args, '--bind-port',
                 str(self.port)], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True,
                env=env)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('bridge-api exited: %s'
                                     % self.log.read_text())
            try:
                requests.get(self.url + '/', timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError('bridge-api not answering: %s'
                             % self.log.read_text())

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(30)


@pytest.fixture
def run_server() -> Iterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for server in servers:
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(30)


def exercise(url: str) -> None:
    """Post, claim and delete with the claim over HTTP."""
    queue = url + '/v2/queues/q1'
    posted = requests.post(queue + '/messages', headers=HEADERS, timeout=10,
                           json={'messages': [{'body': {'n': 1}}]})
    assert posted.status_code == 201, posted.text
    claim = requests.post(queue + '/claims', headers=HEADERS, timeout=10,
                          json={'ttl': 60, 'grace': 60})
    assert claim.status_code == 201, claim.text
    href = claim.json()['messages'][0]['href']
    deleted = requests.delete(url + href, headers=HEADERS, timeout=10)
    assert deleted.status_code == 204


def test_bridge_api_serves_with_config_file_and_bind_port(
        tmp_path: pathlib.Path, run_server: list[Server]) -> None:
    conf_file = write_conf(tmp_path / 'bridge.conf', (
        '[DEFAULT]\nstate_path = %s\n[api]\nworkers = 2\nthreads = 2\n'
        % (tmp_path / 'state')))
    server = Server(['--config-file', str(conf_file)], tmp_path)
    run_server.append(server)
    server.wait_ready()
    assert requests.get(server.url + '/', timeout=10).status_code == 300
    exercise(server.url)
    assert (tmp_path / 'state' / 'bridge.sqlite').exists()
    assert server.stop() == 0


def test_bridge_api_without_any_config_uses_noauth_and_sqlite_in_state_dir(
        tmp_path: pathlib.Path, run_server: list[Server]) -> None:
    env = dict(os.environ, HOME=str(tmp_path),
               XDG_STATE_HOME=str(tmp_path / 'xdg-state'))
    server = Server([], tmp_path, env=env)
    run_server.append(server)
    server.wait_ready()
    exercise(server.url)
    assert (tmp_path / 'xdg-state' / 'bridge' / 'bridge.sqlite').exists()
    assert server.stop() == 0


def test_bridge_manage_db_sync_creates_schema(tmp_path: pathlib.Path) -> None:
    db = tmp_path / 'db' / 'bridge.sqlite'
    db.parent.mkdir()
    conf_file = write_conf(tmp_path / 'bridge.conf',
                           '[storage]\nurl = sqlite:///%s\n' % db)
    done = subprocess.run([str(BIN / 'bridge-manage'), '--config-file',
                           str(conf_file), 'db', 'sync'],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'Storage schema is up to date: sqlite:///%s' % db in done.stdout
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], default_config_files=[])
    store = bridge_storage.from_url('sqlite:///%s' % db, conf)
    try:
        assert store.create_queue('p', 'q', {}) is True
    finally:
        store.close()


def test_bridge_manage_reports_unreachable_storage_without_password(
        tmp_path: pathlib.Path) -> None:
    conf_file = write_conf(tmp_path / 'bridge.conf', (
        '[storage]\nurl = postgresql://user:s3cret@127.0.0.1:%d/x\n'
        % free_port()))
    done = subprocess.run([str(BIN / 'bridge-manage'), '--config-file',
                           str(conf_file), 'db', 'sync'],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert 'Storage unavailable' in done.stderr
    assert 'user:***@' in done.stderr and 's3cret' not in done.stdout


def test_bridge_manage_without_command_prints_usage() -> None:
    done = subprocess.run([str(BIN / 'bridge-manage')], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert 'db' in done.stderr


def test_server_follows_api_options_and_command_line() -> None:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf.register_cli_opts(api_cmd.CLI_OPTS)
    conf(['--bind-host', '127.0.0.1', '--bind-port', str(free_port())],
         default_config_files=[])
    conf.set_override('workers', 3, group='api')
    conf.set_override('max_requests_per_worker', 16, group='api')
    conf.set_override('graceful_timeout', 7, group='api')
    server = api_server.build(conf, [])
    assert (server.bind_addr, server.bind_port) == (
        '127.0.0.1', conf.bind_port)
    assert (server.workers, server.backpressure,
            server.workers_kill_timeout) == (3, 16, 7)
    assert api_server.display_address('::1', 9999) == '[::1]:9999'


def test_redact_url_hides_passwords() -> None:
    assert api_cmd.redact_url('mysql+pymysql://root:pw@h:3306/db') == \
        'mysql+pymysql://root:***@h:3306/db'
    assert api_cmd.redact_url('sqlite:////tmp/x.sqlite') == \
        'sqlite:////tmp/x.sqlite'


WSGI_PROBE = '''
import uuid
from falcon import testing
from bridge.api import wsgi
from bridge import storage
conf = wsgi.load_conf(config_files=wsgi.config_files_from_env())
storage.from_conf(conf).ensure_schema()
client = testing.TestClient(wsgi.init_application())
headers = {"Client-ID": str(uuid.uuid4()), "X-Project-Id": "p"}
print("STATUS", client.simulate_put("/v2/queues/q1",
                                   headers=headers).status_code)
print("STATUS", client.simulate_get("/v2/queues", headers=headers,
                                    params={"limit": "2"}).status_code)
'''


def test_wsgi_entry_point_reads_files_named_by_environment(
        tmp_path: pathlib.Path) -> None:
    first = write_conf(tmp_path / 'a.conf',
                       '[storage]\nurl = sqlite:///%s\n'
                       % (tmp_path / 'wsgi.sqlite'))
    second = write_conf(tmp_path / 'b.conf',
                        '[limits]\nmax_queues_per_page = 1\n')
    env = dict(os.environ, BRIDGE_CONFIG_FILE='%s, %s' % (first, second))
    done = subprocess.run([sys.executable, '-c', WSGI_PROBE], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # (The access log shares stdout.)
    assert [line.split()[1] for line in done.stdout.splitlines()
            if line.startswith('STATUS ')] == ['201', '400']
    assert (tmp_path / 'wsgi.sqlite').exists()


@pytest.mark.parametrize('url, workers, threads', [
    (None, 1, 1), ('sqlite:////tmp/x.sqlite', 1, 1),
    ('postgresql://u@h/db', bridge_conf.NETWORK_DATABASE_WORKERS,
     bridge_conf.NETWORK_DATABASE_THREADS),
    ('mongodb://h/db', bridge_conf.NETWORK_DATABASE_WORKERS,
     bridge_conf.NETWORK_DATABASE_THREADS)])
def test_default_workers_and_threads_follow_the_storage(
        url, workers, threads) -> None:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], default_config_files=[])
    if url:
        conf.set_override('url', url, group='storage')
    assert (api_server.api_workers(conf), api_server.api_threads(conf)) == (
        workers, threads)
    conf.set_override('workers', 5, group='api')
    conf.set_override('threads', 3, group='api')
    assert (api_server.api_workers(conf), api_server.api_threads(conf)) == (
        5, 3)
