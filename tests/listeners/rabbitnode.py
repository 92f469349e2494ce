"""A private RabbitMQ node for tests that restart the broker.

Never the shared node on 5672: this one has its own node name, AMQP and
Erlang distribution ports (free ones, on 127.0.0.1 only), data, log and
config files, and its own Erlang cookie in its own ``HOME``. It shares only
the machine's epmd (the port-name registry every Erlang node uses), which it
never stops. It runs from the Debian ``rabbitmq-server`` package that
``tools/services.sh`` installs, as the current user, in the foreground of a
process group of its own, so :meth:`RabbitNode.close` can always end it.

Every wait is bounded: a node that does not answer within
:data:`START_TIMEOUT` seconds fails the test with the tail of its log.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import signal
import socket
import string
import subprocess
import time

import kombu
import pytest

SBIN = pathlib.Path(os.environ.get('BRIDGE_TEST_RABBITMQ_SBIN',
                                   '/usr/lib/rabbitmq/bin'))
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class RabbitNode:
    """One RabbitMQ node under ``base`` (a directory it owns)."""

    def __init__(self, base: pathlib.Path, name: str) -> None:
        for tool in ('rabbitmq-server', 'rabbitmqctl'):
            if not (SBIN / tool).exists():
                pytest.fail('%s not found in %s: run tools/services.sh '
                            '(it installs the rabbitmq-server package)'
                            % (tool, SBIN))
        self.base = base
        self.node = '%s@localhost' % name
        self.port = free_port()
        self.dist_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        home = base / 'home'
        home.mkdir(parents=True)
        cookie = home / '.erlang.cookie'
        cookie.write_text(''.join(secrets.choice(string.ascii_uppercase)
                                  for _ in range(20)))
        cookie.chmod(0o400)
        (base / 'rabbitmq.conf').write_text(
            'listeners.tcp.1 = 127.0.0.1:%d\n' % self.port)
        (base / 'enabled_plugins').write_text('[].\n')
        (base / 'rabbitmq-env.conf').write_text('')
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('RABBITMQ_', 'ERL_'))}
        env.update({
            'HOME': str(home),
            'RABBITMQ_NODENAME': self.node,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_MNESIA_BASE': str(base / 'mnesia'),
            'RABBITMQ_LOG_BASE': str(base / 'log'),
            'RABBITMQ_CONFIG_FILE': str(base / 'rabbitmq.conf'),
            'RABBITMQ_ADVANCED_CONFIG_FILE': str(base / 'advanced.config'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': str(base / 'enabled_plugins'),
            'RABBITMQ_CONF_ENV_FILE': str(base / 'rabbitmq-env.conf'),
            'RABBITMQ_PID_FILE': str(base / 'rabbitmq.pid'),
            'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
                '-kernel inet_dist_use_interface {127,0,0,1}',
            'ERL_EPMD_ADDRESS': '127.0.0.1',
        })
        self.env = env

    @property
    def amqp_url(self) -> str:
        return 'amqp://guest:guest@127.0.0.1:%d//' % self.port

    @property
    def transport_url(self) -> str:
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port

    def start(self) -> None:
        assert self.proc is None, 'node already running'
        log = open(self.base / 'server.out', 'ab')
        self.proc = subprocess.Popen(
            [str(SBIN / 'rabbitmq-server')], env=self.env, cwd=self.base,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail('exited with %s while starting'
                           % self.proc.returncode)
            if self._answers():
                return
            time.sleep(0.3)
        self._fail('did not answer on 127.0.0.1:%d within %ss'
                   % (self.port, START_TIMEOUT))

    def _answers(self) -> bool:
        conn = kombu.Connection(self.amqp_url, connect_timeout=2)
        try:
            conn.connect()
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False
        finally:
            conn.release()

    def ctl(self, *args: str, timeout: float = STOP_TIMEOUT
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SBIN / 'rabbitmqctl'), '-n', self.node, *args],
            env=self.env, cwd=self.base, capture_output=True, text=True,
            timeout=timeout)

    def stop(self) -> None:
        """A clean broker stop (``rabbitmqctl stop``), as in a restart."""
        assert self.proc is not None, 'node not running'
        done = self.ctl('stop')
        if done.returncode != 0:
            self._fail('rabbitmqctl stop failed: %s%s'
                       % (done.stdout, done.stderr))
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._fail('still running %ss after rabbitmqctl stop'
                       % STOP_TIMEOUT)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """End the node whatever its state (its own process group only),
        then remove its files."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                self.ctl('stop', timeout=30)
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        if proc is not None and proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(timeout=15)
                    break
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    continue
        shutil.rmtree(self.base, ignore_errors=True)

    def _fail(self, what: str) -> None:
        tail = ''
        for path in sorted(self.base.glob('log/*.log')) + [
                self.base / 'server.out']:
            if path.exists():
                tail += '\n--- %s\n%s' % (
                    path.name, path.read_text(errors='replace')[-2000:])
        self.close()
        pytest.fail('private RabbitMQ node %s %s%s' % (self.node, what, tail))
