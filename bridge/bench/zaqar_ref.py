"""The Zaqar reference for ``bridge-bench api``: OpenStack Zaqar 23 from
PyPI, under granian (WSGI interface), with its Redis message and management stores and no
authentication.

Zaqar is never a dependency of bridge: it lives in its own virtualenv
(created on first use, by default ``.services/zaqar`` in the source tree)
and runs as a separate process. Its configuration is a file this module
writes into a run directory; the process gets that directory as ``HOME``
because Zaqar's WSGI app only reads config files from the standard search
path (``~/.zaqar/zaqar.conf`` is on it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from bridge.bench.procs import HOST, BenchError, Server

ZAQAR_REQUIREMENT = 'zaqar>=23,<24'
VENV_PACKAGES = (ZAQAR_REQUIREMENT, 'granian', 'redis')

_CONF = """\
[DEFAULT]
# noauth: Zaqar trusts X-Project-Id, as bridge-api does in noauth mode.
auth_strategy =

[drivers]
transport = wsgi
message_store = redis
management_store = redis

[drivers:message_store:redis]
uri = {uri}

[drivers:management_store:redis]
uri = {uri}
"""


def default_venv() -> str:
    """``.services/zaqar`` beside the ``bridge`` package's directory (the
    source tree when bridge is installed editable)."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.dirname(package_dir), '.services', 'zaqar')


def ensure_venv(venv: str) -> None:
    """Create ``venv`` with Zaqar, granian and redis-py unless it already
    has them. Takes about a minute the first time."""
    if os.path.exists(os.path.join(venv, 'bin', 'granian')) and _has_zaqar(venv):
        return
    print('Creating the Zaqar reference virtualenv in %s (%s) ...'
          % (venv, ', '.join(VENV_PACKAGES)), file=sys.stderr, flush=True)
    try:
        subprocess.run([sys.executable, '-m', 'venv', venv], check=True,
                       timeout=300)
        subprocess.run([os.path.join(venv, 'bin', 'pip'), 'install', '-q',
                        *VENV_PACKAGES], check=True, timeout=1200)
    except (subprocess.SubprocessError, OSError) as exc:
        raise BenchError('could not set up the Zaqar virtualenv %s: %s '
                         '(use --skip-zaqar to run without it)' % (venv, exc))


def _has_zaqar(venv: str) -> bool:
    python = os.path.join(venv, 'bin', 'python')
    probe = subprocess.run([python, '-c', 'import zaqar.transport.wsgi'],
                           capture_output=True, timeout=120)
    return probe.returncode == 0


def redis_uri(host: str, port: int, db: int) -> str:
    # Zaqar's default socket_timeout (0.1 s) turns a busy machine into
    # spurious 503s; 5 s keeps the reference honest without hiding stalls.
    return 'redis://%s:%d?dbid=%d&socket_timeout=5' % (host, port, db)


def flush_redis_db(host: str, port: int, db: int) -> None:
    """Empty Redis database ``db`` (the bench's own) so every run starts
    from nothing. Raises BenchError if Redis does not answer."""
    select = b'SELECT'
    dbs = str(db).encode()
    cmd = (b'*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n*1\r\n$7\r\nFLUSHDB\r\n'
           % (len(select), select, len(dbs), dbs))
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(cmd)
            reply = b''
            while reply.count(b'\r\n') < 2:
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
    except OSError as exc:
        raise BenchError('Redis at %s:%d does not answer (%s); Zaqar needs it '
                         '(use --skip-zaqar to run without it)' % (host, port, exc))
    if reply != b'+OK\r\n+OK\r\n':
        raise BenchError('Redis refused SELECT %d/FLUSHDB: %r' % (db, reply))


def server(venv: str, run_dir: str, port: int, workers: int,
           redis_host: str = HOST, redis_port: int = 6379,
           redis_db: int = 13) -> Server:
    """A Zaqar server (not started yet) on 127.0.0.1:``port``: granian's
    WSGI interface with ``workers`` processes of one thread, data in Redis
    db ``redis_db``, which is flushed here."""
    from bridge.bench.targets import granian_wsgi_argv

    ensure_venv(venv)
    flush_redis_db(redis_host, redis_port, redis_db)
    conf_dir = os.path.join(run_dir, '.zaqar')
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(conf_dir, 'zaqar.conf'), 'w') as conf:
        conf.write(_CONF.format(uri=redis_uri(redis_host, redis_port, redis_db)))
    argv = granian_wsgi_argv(os.path.join(venv, 'bin', 'granian'),
                             'zaqar.transport.wsgi.app:app', port, workers)
    return Server('zaqar', argv, port, os.path.join(run_dir, 'zaqar.log'),
                  env={'HOME': run_dir}, cwd=run_dir)
