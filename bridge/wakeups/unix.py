"""Wake-ups between the processes of one host: a Unix datagram socket per
API worker, bound in one directory as ``<pid>-<random>.sock``.

A publisher sends one datagram per notice to every socket in the
directory (a ``listdir`` and a ``sendto`` each, non-blocking: a worker whose
buffer is full misses the notice, its waiters answer at the end of their
wait). Sockets whose worker is gone (connection refused) are removed. The
listener reads its socket with ``loop.add_reader``: no thread.

Used for SQLite (whose processes share a host anyway), and for MariaDB and
MongoDB, where it reaches the API workers of the publisher's host only.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import uuid
from typing import Iterable

from oslo_log import log

from bridge.wakeups import base

LOG = log.getLogger(__name__)

#: Receive buffer asked for each listener socket.
RCVBUF = 1 << 20
#: Longest notice (a project id and a queue name, JSON).
MAX_DATAGRAM = 4096
SUFFIX = '.sock'


class UnixPublisher(base.Publisher):
    def __init__(self, directory: str) -> None:
        self._dir = directory
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def publish(self, keys: Iterable[base.Key]) -> None:
        datagrams = [base.encode(k).encode() for k in set(keys)]
        if not datagrams:
            return
        try:
            names = [n for n in os.listdir(self._dir) if n.endswith(SUFFIX)]
        except FileNotFoundError:
            return  # no API worker has started listening
        except OSError as exc:
            LOG.warning('Cannot list wake-up sockets in %s: %s', self._dir,
                        exc)
            return
        for name in names:
            self._send(os.path.join(self._dir, name), datagrams)

    def _send(self, path: str, datagrams: list[bytes]) -> None:
        for datagram in datagrams:
            try:
                self._sock.sendto(datagram, path)
            except (ConnectionRefusedError, FileNotFoundError):
                _remove(path)  # its process is gone
                return
            except BlockingIOError:
                return  # that worker is behind; its waiters time out
            except OSError as exc:
                if exc.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    LOG.warning('Wake-up to %s failed: %s', path, exc)
                return

    def close(self) -> None:
        self._sock.close()


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class UnixListener(base.Listener):
    def __init__(self, directory: str) -> None:
        self._dir = directory
        self.path = os.path.join(
            directory, '%d-%s%s' % (os.getpid(), uuid.uuid4().hex[:8], SUFFIX))
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, wake: base.WakeCallback) -> None:
        os.makedirs(self._dir, mode=0o700, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            sock.bind(self.path)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self._loop = asyncio.get_running_loop()

        def readable() -> None:
            while True:
                try:
                    data = sock.recv(MAX_DATAGRAM)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    LOG.warning('Wake-up socket %s: %s', self.path, exc)
                    return
                key = base.decode(data)
                if key is not None:
                    wake(key)

        self._loop.add_reader(sock.fileno(), readable)

    async def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(sock.fileno())
        sock.close()
        _remove(self.path)
