"""Driving wrk with the Zaqar workload script and reading its result.

wrk runs one connection per thread (``-t N -c N``): wrk's Lua API has no
connection handle, so a per-thread script state is how each connection
keeps its own post/claim/delete sequence (see lua/zaqar_workload.lua).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from bridge.bench.procs import BenchError

RESULT_MARK = 'BRIDGE-BENCH-RESULT '
SCRIPT = 'zaqar_workload.lua'

COUNT_KEYS = ('post_ok', 'post_failed', 'claim_ok', 'claim_empty',
              'claim_failed', 'claimed_messages', 'delete_ok', 'delete_failed')


def script_path(name: str = SCRIPT) -> str:
    """Filesystem path of a Lua script shipped in bridge/bench/lua/."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lua', name)


def ensure_wrk(install: bool = True) -> str:
    """Path of the wrk binary; installs Debian's ``wrk`` package with
    apt-get first when it is missing and ``install`` is true."""
    found = shutil.which('wrk')
    if found:
        return found
    if not install or shutil.which('apt-get') is None:
        raise BenchError('wrk is not installed: apt-get install -y wrk')
    print('wrk is missing: running "apt-get install -y wrk"', file=sys.stderr,
          flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    cmd = ['apt-get', 'install', '-y', '-q', 'wrk']
    if subprocess.run(cmd, env=env, timeout=600).returncode != 0:
        subprocess.run(['apt-get', 'update', '-q'], env=env, timeout=600)
        subprocess.run(cmd, env=env, timeout=600, check=True)
    found = shutil.which('wrk')
    if not found:
        raise BenchError('apt-get installed wrk but it is not on PATH')
    return found


@dataclass
class WrkResult:
    """One wrk run: totals, latency (ms) and per-kind response counts."""

    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: dict[str, int]
    counts: dict[str, int]
    first_failure: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def failures(self) -> list[str]:
        """Why the run counts as FAILED: failed posts, claims (an empty
        claim, 204, is not a failure) or deletes, and request timeouts.
        Empty when every request succeeded."""
        out = []
        for key in ('post_failed', 'claim_failed', 'delete_failed'):
            if self.counts.get(key):
                kind = key.split('_')[0]
                out.append('%d %s failed (first: %s)' % (
                    self.counts[key], kind,
                    self.first_failure.get(kind, '?')[:160]))
        if self.socket_errors.get('timeout'):
            out.append('%d requests timed out' % self.socket_errors['timeout'])
        if self.requests == 0:
            out.append('no request completed')
        return out


def parse_output(output: str) -> WrkResult:
    """Read the result line the workload script's done() prints."""
    for line in output.splitlines():
        if line.startswith(RESULT_MARK):
            doc = json.loads(line[len(RESULT_MARK):])
            break
    else:
        raise ValueError('wrk printed no %r line; output was:\n%s'
                         % (RESULT_MARK.strip(), output[-2000:]))
    lat = doc['latency_us']
    counts = {key: int(doc['counts'].get(key, 0)) for key in COUNT_KEYS}
    return WrkResult(
        requests=int(doc['requests']),
        duration_s=float(doc['duration_us']) / 1e6,
        p50_ms=float(lat['p50']) / 1000.0,
        p90_ms=float(lat['p90']) / 1000.0,
        p99_ms=float(lat['p99']) / 1000.0,
        max_ms=float(lat['max']) / 1000.0,
        socket_errors={k: int(v) for k, v in doc['socket_errors'].items()},
        counts=counts,
        first_failure={k: str(v) for k, v in doc.get('first_failure', {}).items()},
    )


def command(wrk: str, url: str, duration: float, connections: int,
            timeout: float) -> list[str]:
    """The wrk command line for the workload."""
    return [wrk, '-t', str(connections), '-c', str(connections),
            '-d', '%ds' % max(1, round(duration)), '--timeout',
            '%ds' % max(1, round(timeout)), '-s', script_path(), url]


def run(wrk: str, port: int, queues: list[str], duration: float,
        connections: int, project: str = 'bench', posts: int = 5,
        claim_limit: int = 5, timeout: float = 10.0) -> WrkResult:
    """Run the workload against http://127.0.0.1:port for ``duration``
    seconds; wrk is killed if it overruns by more than a minute."""
    env = dict(os.environ, BENCH_QUEUES=','.join(queues),
               BENCH_PROJECT=project, BENCH_POSTS=str(posts),
               BENCH_CLAIM_LIMIT=str(claim_limit))
    argv = command(wrk, 'http://127.0.0.1:%d' % port, duration, connections,
                   timeout)
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=duration + timeout + 60)
    except subprocess.TimeoutExpired:
        raise BenchError('wrk overran its %gs run by more than a minute'
                         % duration)
    if proc.returncode != 0:
        raise BenchError('wrk exited with %d: %s' % (proc.returncode,
                                                     proc.stderr[-2000:]))
    try:
        return parse_output(proc.stdout)
    except ValueError as exc:
        raise BenchError(str(exc))
