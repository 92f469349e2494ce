"""The WSGI pipeline every API server runs (bridge-api and
``bridge-wsgi-api`` alike), outermost first:

1. ``RequestId`` (oslo.middleware): every answer carries
   ``X-Openstack-Request-Id``; a valid inbound one becomes the global
   request id.
2. ``HTTPProxyToWSGI`` (oslo.middleware): with ``[oslo_middleware]
   enable_proxy_headers_parsing``, the scheme, host and path prefix come
   from the TLS proxy's ``Forwarded`` / ``X-Forwarded-*`` headers (left
   out otherwise). Only turn it on behind a proxy that sets them.
3. :class:`~bridge.api.accesslog.AccessLog`: the request's log context,
   one access-log line and the API metrics.
4. ``CORS`` (oslo.middleware), configured by ``[cors]``; left out while
   no origin is allowed. Outside authentication, so preflight
   requests need no token.
5. ``/healthcheck``: oslo.middleware's healthcheck, configured by
   ``[healthcheck]``; public, for load balancers. Its ``bridge_storage``
   backend (:mod:`bridge.api.healthcheck`) checks the storage.
   ``/v2/ping`` and ``/v2/health`` stay as they are.
6. The ``[DEFAULT] auth_strategy`` pipeline (:mod:`bridge.api.auth`).
7. The falcon application, with ``GET /metrics`` (:mod:`bridge.api.metrics`)
   added to its routes.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import falcon
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
from oslo_middleware.healthcheck import opts as healthcheck_opts

from bridge.api import accesslog
from bridge.api import auth
from bridge.api import healthcheck as storage_check
from bridge.api import metrics as metrics_resource
from bridge.storage.base import Storage

HEALTHCHECK_PATH = '/healthcheck'

#: Request headers a browser may send to bridge (Zaqar's, Keystone's,
#: pre-signed URLs').
CORS_ALLOW_HEADERS = ['Content-Type', 'Client-ID', 'X-Project-ID',
                      'X-Auth-Token', 'X-Roles', 'X-User-ID',
                      'X-Openstack-Request-Id', 'URL-Signature',
                      'URL-Expires', 'URL-Methods', 'URL-Paths']
CORS_EXPOSE_HEADERS = ['X-Openstack-Request-Id', 'Location',
                       'Content-Location']
CORS_ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']


def set_defaults() -> None:
    """bridge's defaults for oslo.middleware's ``[cors]`` and
    ``[healthcheck]`` options (also the entry point
    ``oslo.config.opts.defaults``, so the sample config shows them)."""
    cors.set_defaults(allow_headers=CORS_ALLOW_HEADERS,
                      expose_headers=CORS_EXPOSE_HEADERS,
                      allow_methods=CORS_ALLOW_METHODS)
    cfg.set_defaults(healthcheck_opts.HEALTHCHECK_OPTS,
                     backends=[storage_check.NAME])


def register_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.middleware's options the pipeline reads (``[cors]``,
    ``[oslo_middleware]``, ``[healthcheck]``), so they can be set before
    the pipeline is built. Idempotent."""
    conf.register_opts(cors.CORS_OPTS, group='cors')
    conf.register_opts(http_proxy_to_wsgi.OPTS, group='oslo_middleware')
    conf.register_opts(healthcheck_opts.HEALTHCHECK_OPTS,
                       group='healthcheck')


class _Mount:
    """Serves one exact path with ``mounted``, everything else with
    ``app``."""

    def __init__(self, path: str, mounted: auth.WSGIApp,
                 app: auth.WSGIApp) -> None:
        self._path = path
        self._mounted = mounted
        self._app = app

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get('PATH_INFO') == self._path:
            environ[accesslog.ROUTE_KEY] = self._path
            return self._mounted(environ, start_response)
        return self._app(environ, start_response)


class Pipeline:
    """The outermost layer: a plain WSGI callable (oslo.middleware's
    webob-decorated ``__call__`` hides its signature from tools that
    inspect it, falcon's test client among them)."""

    def __init__(self, app: auth.WSGIApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._app(environ, start_response)


def build(app: falcon.App, conf: cfg.ConfigOpts,
          storage: Storage) -> auth.WSGIApp:
    """The pipeline above around ``app`` (which gains ``/metrics``).

    oslo.middleware's CORS and proxy middleware cost a webob request and
    response per request (several times what serving a message costs), so
    each is put in only when configured: CORS when an origin is allowed,
    the proxy headers when ``enable_proxy_headers_parsing`` is on. Like
    every option, changing them takes a restart."""
    set_defaults()
    register_opts(conf)
    app.add_route(metrics_resource.PATH,
                  metrics_resource.Metrics(conf, storage))
    wsgi: auth.WSGIApp = auth.install(app, conf)
    wsgi = _Mount(HEALTHCHECK_PATH, healthcheck.Healthcheck(wsgi, conf),
                  wsgi)
    sharing = cors.CORS(wsgi, conf)
    if sharing.allowed_origins:
        wsgi = sharing
    wsgi = accesslog.AccessLog(wsgi, metrics_resource.record_request)
    if conf.oslo_middleware.enable_proxy_headers_parsing:
        wsgi = http_proxy_to_wsgi.HTTPProxyToWSGI(wsgi, conf)
    return Pipeline(request_id.RequestId(wsgi, conf))
