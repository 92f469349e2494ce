"""``GET /metrics``: the API's Prometheus metrics, in the text format.

What it shows: the requests of every worker process
(:mod:`bridge.metrics.families`, merged in multi-process mode) and the
storage sample (deepest queues, oldest message ages) taken at most every
``[metrics] sample_interval`` seconds.

Who may read it: anyone in ``noauth`` mode (a scraper sends no project);
in ``keystone`` mode, a valid token whose roles policy rule
``metrics:get`` allows (admin by default). It is not a tenant resource,
so Client-ID is not required.
"""

from __future__ import annotations

from typing import Any

import falcon
import prometheus_client
from oslo_config import cfg

from bridge.api import auth
from bridge.api import errors
from bridge.api import policy
from bridge.metrics import families
from bridge.metrics import multiproc
from bridge.metrics import sampler
from bridge.storage.base import Storage

PATH = '/metrics'
RULE = 'metrics:get'


_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def record_request(route: str, method: str, status: int,
                   seconds: float) -> None:
    """Count one answered request (the access log calls it). The labelled
    series are kept (their number is bounded by the routes), sparing
    prometheus-client's label lookup on every request."""
    key = (route, method, status)
    series = _series.get(key)
    if series is None:
        series = _series[key] = (
            families.API_REQUESTS.labels(route, method, str(status)),
            families.API_LATENCY.labels(route, method))
    series[0].inc()
    series[1].observe(seconds)


class Metrics:
    """The resource (see the module docstring). ``public`` tells the gate
    to skip the tenant checks; this resource checks keystone callers
    itself."""

    public = True
    rules: dict[str, str] = {}

    def __init__(self, conf: cfg.ConfigOpts, storage: Storage) -> None:
        self._keystone = conf.auth_strategy == 'keystone'
        self._authorizer = policy.Authorizer(conf) if self._keystone \
            else None
        self._sampler = sampler.StorageSampler(
            storage, limit=conf.metrics.sample_limit,
            interval=conf.metrics.sample_interval, queues=True)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._authorizer is not None:
            who = auth.keystone_identity(req)
            if not self._authorizer.allowed(RULE, who.project, who.roles,
                                            who.user_id):
                raise errors.Forbidden('Policy does not allow "%s".' % RULE)
        registry = multiproc.registry(self._sampler)  # type: ignore[arg-type]
        resp.data = prometheus_client.generate_latest(registry)
        resp.content_type = prometheus_client.CONTENT_TYPE_LATEST
