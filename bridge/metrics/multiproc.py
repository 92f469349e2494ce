"""prometheus-client's multi-process mode, independent of the WSGI server.

A server that forks workers calls :func:`prepare` once, before the first
worker starts: ``PROMETHEUS_MULTIPROC_DIR`` then names an empty directory
(the one already named, or a new temporary one removed at exit), every
process inheriting it writes its samples there, and :func:`registry`
merges them for ``/metrics``. Counters and histograms of workers that
exited keep counting in the totals, as Prometheus expects of counters.
:func:`reap_dead` (run before each collection) marks processes that no
longer exist as dead, whatever server started them. Without
``PROMETHEUS_MULTIPROC_DIR`` (one process), :func:`registry` serves that
process's own metrics.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from typing import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client import values
from prometheus_client.registry import Collector

ENV = 'PROMETHEUS_MULTIPROC_DIR'
_PID = re.compile(r'_(\d+)\.db$')


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def prepare(directory: str | None = None) -> str:
    """Use ``directory`` (else ``$PROMETHEUS_MULTIPROC_DIR``, else a new
    temporary directory) for the metrics of this process and of every
    process started from now on; remove a previous run's files from it."""
    path = directory or os.environ.get(ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith('.db'):
                os.unlink(os.path.join(path, name))
    else:
        path = tempfile.mkdtemp(prefix='bridge-metrics-')
        atexit.register(_remove, path, os.getpid())
    os.environ[ENV] = path
    # prometheus-client picks its value class when first imported; metrics
    # created from now on must write to the directory.
    values.ValueClass = values.get_value_class()
    return path


def _remove(path: str, owner: int) -> None:
    # Forked workers inherit atexit handlers: only the creator removes.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead() -> None:
    """Mark the processes that left sample files and no longer run as
    dead (their live gauges disappear; counters keep their counts)."""
    path = os.environ.get(ENV)
    if not path:
        return
    pids = {int(m.group(1)) for m in map(_PID.search, os.listdir(path)) if m}
    for pid in pids:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, path)


class _Forward:
    """The default registry's metrics, inside another registry."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def registry(*extra: Collector) -> CollectorRegistry:
    """A registry of this process's metrics (or, in multi-process mode,
    of every process's) and of ``extra`` collectors."""
    reg = CollectorRegistry(auto_describe=False)
    if enabled():
        reap_dead()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg.register(_Forward())  # type: ignore[arg-type]
    for collector in extra:
        reg.register(collector)
    return reg
