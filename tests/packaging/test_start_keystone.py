"""tools/start-keystone.sh, which tools/services.sh runs: a second run
only checks the Keystone that answers, and a port taken by something else
stops it with one clear line instead of a Keystone that never comes up."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import urllib.parse

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / 'tools' / 'start-keystone.sh'


def run_script(port: int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BRIDGE_KEYSTONE_PORT=str(port))
    return subprocess.run(['bash', str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_running_keystone_is_only_checked() -> None:
    url = os.environ.get('BRIDGE_TEST_KEYSTONE_URL', 'http://127.0.0.1:35357')
    port = urllib.parse.urlsplit(url).port
    assert port is not None
    done = run_script(port)
    assert done.returncode == 0, done.stderr
    assert f'Keystone already answers on http://127.0.0.1:{port}/v3' in done.stdout


def test_a_port_taken_by_something_else_fails_loudly() -> None:
    with socket.socket() as squatter:
        squatter.bind(('127.0.0.1', 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        done = run_script(port)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f'start-keystone: port 127.0.0.1:{port} is taken by something that is '
        'not Keystone (GET /v3 fails); free it or set BRIDGE_KEYSTONE_PORT']
