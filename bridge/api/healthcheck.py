"""``bridge_storage``: a backend of oslo.middleware's ``/healthcheck``
(``[healthcheck] backends``, on by default) that answers 503 while the
storage does not answer a round trip.

oslo.middleware builds its backends from entry points with only the
configuration, so this backend opens its own storage connection (lazily,
on the first check) with the API's ``[storage]`` options.
"""

from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg
from oslo_middleware.healthcheck import pluginbase

from bridge import storage as bridge_storage
from bridge.storage import base, errors

NAME = 'bridge_storage'


class StorageHealthcheck(pluginbase.HealthcheckBaseExtension):

    def __init__(self, oslo_conf: cfg.ConfigOpts,
                 conf: dict[str, Any]) -> None:
        super().__init__(oslo_conf, conf)
        self._storage: base.Storage | None = None
        self._lock = threading.Lock()

    def _open(self) -> base.Storage:
        with self._lock:
            if self._storage is None:
                self._storage = bridge_storage.from_conf(self.oslo_conf)
            return self._storage

    def healthcheck(self, server_port: int) -> pluginbase.HealthcheckResult:
        try:
            self._open().health()
        except errors.Unavailable as exc:
            return pluginbase.HealthcheckResult(
                available=False, reason='storage unavailable',
                details=str(exc))
        return pluginbase.HealthcheckResult(available=True,
                                            reason='storage answers')
