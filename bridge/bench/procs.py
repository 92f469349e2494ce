"""Server processes for the benchmarks: start on 127.0.0.1, wait until
they answer, stop them (the whole process group) however the run ends."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

HOST = '127.0.0.1'

BENCH_PROJECT = 'bench'
BENCH_CLIENT_ID = str(uuid.UUID(int=0x6265_6e63_6800_4000_8000_0000_0000_0001))


class BenchError(RuntimeError):
    """A benchmark step could not be carried out (a server did not start,
    wrk is missing, ...). The message says what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_call(port: int, method: str, path: str, body: str | None = None,
              timeout: float = 10.0) -> tuple[int, bytes]:
    """One request to 127.0.0.1:port with the bench's Zaqar headers;
    returns (status, body). Raises OSError when nothing answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {'Client-ID': BENCH_CLIENT_ID,
                   'X-Project-Id': BENCH_PROJECT,
                   'Accept': 'application/json'}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class Server:
    """A child process serving HTTP on 127.0.0.1:``port``.

    The process runs in its own session, so :meth:`stop` ends it together
    with every worker it forked. Its output goes to ``log_path``.
    """

    name: str
    argv: Sequence[str]
    port: int
    log_path: str
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        env = dict(os.environ)
        env.update(self.env or {})
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                list(self.argv), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, cwd=self.cwd,
                start_new_session=True)

    def log_tail(self, lines: int = 25) -> str:
        try:
            with open(self.log_path, 'rb') as log:
                text = log.read().decode('utf-8', 'replace')
        except OSError:
            return ''
        return '\n'.join(text.splitlines()[-lines:])

    def wait_ready(self, path: str = '/v2/ping', timeout: float = 60.0) -> None:
        """Return once ``path`` answers with a status below 500; raise
        BenchError if the process dies or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        last = 'no answer yet'
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise BenchError('%s exited during start-up; its log (%s) ends:\n%s'
                                 % (self.name, self.log_path, self.log_tail()))
            try:
                status, _ = http_call(self.port, 'GET', path, timeout=2.0)
                if status < 500:
                    return
                last = 'HTTP %d' % status
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise BenchError('%s did not answer GET %s within %.0fs (%s); its log '
                         '(%s) ends:\n%s' % (self.name, path, timeout, last,
                                             self.log_path, self.log_tail()))

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout`` s."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Workers that outlived their master still hold the group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(server: Server, ready_path: str = '/v2/ping',
            timeout: float = 60.0) -> Iterator[Server]:
    """Start ``server``, wait until it answers, and stop it on the way out
    (also on an exception or Ctrl-C)."""
    server.start()
    try:
        server.wait_ready(ready_path, timeout)
        yield server
    finally:
        server.stop()
