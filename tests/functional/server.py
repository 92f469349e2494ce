"""Run a real ``bridge-api`` process for functional tests.

:class:`BridgeAPI` writes a configuration file, starts the console script
installed next to the running Python (``.venv/bin/bridge-api``) on a free
loopback port in its own process group, waits until the server answers HTTP,
and on :meth:`stop` terminates the whole group (workers included). Its output
goes to a log file whose tail is attached to every start-up failure.
"""

from __future__ import annotations

import configparser
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid

import requests

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def bridge_api_executable() -> str:
    path = pathlib.Path(sys.executable).parent / 'bridge-api'
    if not path.exists():
        raise RuntimeError(f'{path} does not exist: install bridge into this '
                           'virtualenv (tools/test.sh does: pip install -e .)')
    return str(path)


class BridgeAPI:
    """One ``bridge-api --config-file F --bind-port P`` subprocess."""

    def __init__(self, workdir: pathlib.Path,
                 options: dict[str, dict[str, str]],
                 websocket: bool = False) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        #: The WebSocket API's port (0: off) and URL.
        self.ws_port = free_port() if websocket else 0
        self.ws_url = f'ws://127.0.0.1:{self.ws_port}/'
        self.config_file = workdir / 'bridge.conf'
        self.log_file = workdir / 'bridge-api.log'
        self._options = options
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> BridgeAPI:
        self._write_config()
        with open(self.log_file, 'wb') as log:
            self._proc = subprocess.Popen(
                [bridge_api_executable(), '--config-file', str(self.config_file),
                 '--bind-port', str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.workdir,
                env=dict(os.environ,
                         OS_WEBSOCKET__BIND_PORT=str(self.ws_port)))
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors='replace')
        except FileNotFoundError:
            return '(no log)'
        return '\n'.join(text.splitlines()[-lines:])

    def _write_config(self) -> None:
        parser = configparser.ConfigParser(interpolation=None)
        for section, values in self._options.items():
            parser[section] = values
        with open(self.config_file, 'w') as f:
            parser.write(f)

    def _websocket_listening(self) -> bool:
        if not self.ws_port:
            return True
        try:
            with socket.create_connection(('127.0.0.1', self.ws_port), timeout=2):
                return True
        except OSError:
            return False

    def _wait_until_answering(self) -> None:
        """Until GET /v2/ping gets any HTTP answer below 500 (in keystone
        mode an unauthenticated ping may rightly answer 401)."""
        assert self._proc is not None
        headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': 'ping'}
        deadline = time.monotonic() + START_TIMEOUT
        last_error = 'no attempt'
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f'bridge-api exited with {self._proc.returncode} '
                                   f'during start-up:\n{self.log_tail()}')
            try:
                resp = requests.get(self.url + '/v2/ping', headers=headers, timeout=2)
                if resp.status_code < 500 and self._websocket_listening():
                    return
                last_error = f'HTTP {resp.status_code}'
            except requests.RequestException as exc:
                last_error = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f'bridge-api did not answer on {self.url} within '
                           f'{START_TIMEOUT}s (last: {last_error}):\n{self.log_tail()}')
