"""The store process: translation and storage beside the bus consumer.

oslo.messaging's listener spends most of a notification's cost in its own
poller thread (AMQP frames, two JSON decodes, a deep copy of the context).
When bridge's endpoint translated and stored in the same process, its
executor threads took turns with that poller for the interpreter lock, and
every turn moved the work between cores: the poller itself got about a
third slower. So, by default (``[listener] store_in_subprocess``), each
listener process forks one *store process* that owns the storage
connections and runs :class:`~bridge.listeners.endpoint.BridgeEndpoint`;
the listener's endpoint is :class:`HandoffEndpoint`, which only hands
batches over.

Delivery guarantee
------------------
Unchanged: :meth:`HandoffEndpoint.handle` returns what the store process's
endpoint returned for the batch, so oslo.messaging acks a batch only after
it is durably stored there. If the store process dies, the batches it held
are requeued (after ``requeue_delay``), a new store process is forked, and
the dedup keys make whatever part was already stored harmless.

Wire
----
One pipe per executor thread (``[listener] threads``), each served by its
own thread in the store process, so batches are stored as concurrently as
before. A request is a pickled tuple: ``('batch', priority, messages)``,
answered by ``(result, counts)``, the batch's share of the endpoint's
:class:`~bridge.listeners.endpoint.Counters`; or ``('rules', rules)``,
answered by ``True`` once later batches use the new rules.

The store process ignores SIGTERM, SIGINT and SIGHUP, which systemd sends
to the whole unit: its listener decides when it stops, by closing the
pipes once its last batch is done. It exits by itself when they close,
also when the listener is killed.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
import sys
import threading
import time
import warnings
from multiprocessing.connection import Connection
from typing import Any, Callable

from oslo_log import log

from bridge.listeners import endpoint as bridge_endpoint

LOG = log.getLogger(__name__)

REQUEUE = bridge_endpoint.REQUEUE

#: What the store process runs on: the endpoint, and how to close what it
#: opened (storage, wake-ups).
Opened = tuple[bridge_endpoint.BridgeEndpoint, Callable[[], None]]

_PICKLE = pickle.HIGHEST_PROTOCOL
#: Seconds stop() waits for the store process to finish.
STOP_TIMEOUT = 30.0

# eventlet, which oslo.messaging imports but bridge never runs, warns about
# every fork; the store process uses plain threads only.
warnings.filterwarnings('ignore', message=r'Using fork\(\) is a bad idea',
                        category=DeprecationWarning)


class StoreProcessLost(Exception):
    """The store process ended while it held a batch."""


class HandoffEndpoint(bridge_endpoint.BatchEndpoint):
    """Batch endpoint for oslo.messaging that hands every batch to the
    store process and answers what its endpoint answered.

    ``open_endpoint`` runs in the store process, each time one starts.
    :meth:`start` before the listeners start (forking a process with no
    threads yet); :meth:`stop` after they stopped.
    """

    def __init__(self, open_endpoint: Callable[[], Opened], *,
                 connections: int, requeue_delay: float,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.counters = bridge_endpoint.Counters()
        self.requeue_delay = requeue_delay
        self._open = open_endpoint
        self._connections = connections
        self._sleep = sleep
        self._lock = threading.Lock()
        self._free: queue.Queue[tuple[int, Connection]] = queue.Queue()
        self._generation = 0
        self._process: Any = None
        self._stopped = False

    # -- life cycle ----------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._stopped = False
            self._spawn()

    def stop(self) -> None:
        """Close the pipes (no batch may be in flight) and wait for the
        store process to close storage and exit."""
        with self._lock:
            self._stopped = True
            self._generation += 1
            process, self._process = self._process, None
            self._drain()
        if process is None:
            return
        process.join(STOP_TIMEOUT)
        if process.is_alive():
            LOG.error('The store process %s did not stop within %.0f s; '
                      'killing it', process.pid, STOP_TIMEOUT)
            process.kill()
            process.join(5)

    @property
    def pid(self) -> int | None:
        """The store process's pid (None when none runs)."""
        process = self._process
        return process.pid if process is not None else None

    def use_rules(self, rules: Any) -> None:
        """Translate the batches that start from now on with ``rules``."""
        try:
            self._call(('rules', rules))
        except StoreProcessLost as exc:
            # Its successor reads the rules file as it starts.
            LOG.warning('The store process ended during a rules reload '
                        '(%s)', exc)

    # -- the work ------------------------------------------------------------

    def handle(self, priority: str, messages: list[dict]) -> str | None:
        """Hand one batch to the store process; its endpoint's answer."""
        try:
            result, counts = self._call(('batch', priority,
                                         [_plain(m) for m in messages]))
        except StoreProcessLost as exc:
            LOG.error('The store process ended while storing %d '
                      'notifications (%s); requeueing them in %.1f s and '
                      'starting another', len(messages), exc,
                      self.requeue_delay)
            self.counters.add(requeued=len(messages))
            self._sleep(self.requeue_delay)
            return REQUEUE
        self.counters.add(**counts)
        return result

    def _call(self, request: tuple) -> Any:
        data = pickle.dumps(request, _PICKLE)
        generation, conn = self._take()
        try:
            conn.send_bytes(data)
            answer = conn.recv_bytes()
        except (EOFError, OSError) as exc:
            conn.close()
            raise StoreProcessLost('exit code %s'
                                   % self._replace(generation)) from exc
        self._free.put((generation, conn))
        return pickle.loads(answer)

    def _take(self) -> tuple[int, Connection]:
        while True:
            generation, conn = self._free.get()
            if generation == self._generation:
                return generation, conn
            conn.close()  # a pipe to a store process that is gone

    def _replace(self, generation: int) -> Any:
        """Start another store process, once per one that ended; return
        the exit code of the one that ended (None: not known here)."""
        with self._lock:
            if generation != self._generation or self._stopped:
                return None
            old = self._process
            if old is not None:
                old.join(1)
                if old.is_alive():
                    old.kill()
                    old.join(5)
            self._drain()
            self._spawn()
            return old.exitcode if old is not None else None

    def _drain(self) -> None:
        while True:
            try:
                _, conn = self._free.get_nowait()
            except queue.Empty:
                return
            conn.close()

    def _spawn(self) -> None:
        ctx = multiprocessing.get_context('fork')
        pairs = [ctx.Pipe() for _ in range(self._connections)]
        ours = [mine for mine, _ in pairs]
        theirs = [other for _, other in pairs]
        process = ctx.Process(target=_store_main,
                              args=(self._open, theirs, ours),
                              name='bridge-store', daemon=True)
        process.start()
        for conn in theirs:
            conn.close()
        self._generation += 1
        self._process = process
        for conn in ours:
            self._free.put((self._generation, conn))
        LOG.info('Store process %s started (%d pipes)', process.pid,
                 len(ours))


def _plain(message: dict) -> dict:
    """``message`` as it can be pickled: the fake driver of tests hands a
    RequestContext object as ``ctxt``."""
    ctxt = message.get('ctxt')
    if ctxt is None or type(ctxt) is dict:
        return message
    return dict(message, ctxt=ctxt.to_dict() if hasattr(ctxt, 'to_dict')
                else {})


# -- the store process -----------------------------------------------------

def _store_main(open_endpoint: Callable[[], Opened],
                conns: list[Connection], parents: list[Connection]) -> None:
    for conn in parents:  # else the pipes never report the listener gone
        conn.close()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    try:
        endpoint, close = open_endpoint()
    except Exception as exc:  # noqa: BLE001 - one line, then the listener
        # requeues what it handed over and starts another store process.
        LOG.error('The store process cannot start: %s: %s',
                  type(exc).__name__, exc)
        sys.exit(1)
    try:
        threads = [threading.Thread(target=_serve, args=(endpoint, conn),
                                    name='bridge-store-%d' % number)
                   for number, conn in enumerate(conns)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        close()


def _serve(endpoint: bridge_endpoint.BridgeEndpoint,
           conn: Connection) -> None:
    """Answer the requests of one pipe until the listener closes it."""
    with conn:
        while True:
            try:
                request = pickle.loads(conn.recv_bytes())
            except EOFError:
                return
            conn.send_bytes(pickle.dumps(_answer(endpoint, request),
                                         _PICKLE))


def _answer(endpoint: bridge_endpoint.BridgeEndpoint, request: tuple) -> Any:
    if request[0] == 'rules':
        endpoint.use_rules(request[1])
        return True
    _, priority, messages = request
    with endpoint.counters.batch() as counts:
        try:
            result = endpoint.handle(priority, messages)
        except Exception:  # noqa: BLE001 - the endpoint itself never raises
            LOG.exception('Storing a batch of %d notifications failed',
                          len(messages))
            result = REQUEUE
    return result, dict(counts)
