"""The REST API application: the one route table (:func:`routes`).

:func:`create_app` builds the falcon application for a configuration and a
storage; :func:`make_wsgi_app` wraps it in the WSGI pipeline
(:mod:`bridge.api.pipeline`: request ids, access log, CORS, healthcheck,
authentication) and is what servers run.
"""

from __future__ import annotations

from typing import Any

import falcon
from oslo_config import cfg

from bridge import quotas as bridge_quotas
from bridge.api import accesslog
from bridge.api import auth
from bridge.api import claims
from bridge.api import errors
from bridge.api import flavors
from bridge.api import home
from bridge.api import hooks
from bridge.api import kinds
from bridge.api import messages
from bridge.api import pipeline
from bridge.api import policy
from bridge.api import pools
from bridge.api import queues
from bridge.api import share
from bridge.api import subscription_validation
from bridge.api import subscriptions
from bridge.api import validation
from bridge.storage import pooling
from bridge.storage.base import Storage
from bridge.wakeups import Publisher
from bridge.wakeups.base import NullPublisher


def routes(storage: Storage, limits: validation.Limits,
           sub_limits: subscription_validation.SubscriptionLimits,
           sharing: share.Share,
           quotas: bridge_quotas.Quotas, registry: pooling.Registry,
           pooling_opts: cfg.ConfigOpts.GroupAttr,
           wakeups: Publisher | None = None) -> list[tuple[str, object]]:
    """Every URI template of the API and the resource serving it. Queues
    and topics are served by the same resources (:mod:`.kinds` says how
    they differ); claims and sharing exist for queues only. ``wakeups`` is
    told of each post (default: nobody)."""
    wakeups = wakeups or NullPublisher()
    queue = '/v2/queues/{queue_name}'
    table: list[tuple[str, object]] = [
        ('/v2/pools', pools.Collection(registry, limits,
                                       pooling_opts.max_pools_per_page)),
        ('/v2/pools/{pool_name}', pools.Item(registry, limits)),
        ('/v2/flavors', flavors.Collection(
            registry, limits, pooling_opts.max_flavors_per_page)),
        ('/v2/flavors/{flavor_name}', flavors.Item(registry, limits)),
        ('/', home.Versions()),
        ('/v2', home.HomeDocument(limits.max_wait)),
        ('/v2/ping', home.Ping(storage)),
        ('/v2/health', home.Health(storage)),
        (queue + '/share', sharing),
        (queue + '/claims', claims.Collection(storage, limits)),
        (queue + '/claims/{claim_id}', claims.Item(storage, limits, wakeups)),
    ]
    for kind in kinds.KINDS:
        # {queue_name} or {topic_name}; hooks.Gate hands either to the
        # resources as queue_name.
        item = '/v2/%s/{%s}' % (kind.collection, kind.name_field)
        subscription = item + '/subscriptions/{subscription_id}'
        table += [
            ('/v2/' + kind.collection,
             queues.Collection(storage, limits, kind)),
            (item, queues.Item(storage, limits, kind, quotas=quotas)),
            (item + '/stats', queues.Stats(storage, kind)),
            (item + '/purge', queues.Purge(storage, limits, kind)),
            (item + '/messages',
             messages.Collection(storage, limits, kind, quotas=quotas,
                                 wakeups=wakeups)),
            (item + '/messages/{message_id}', messages.Item(storage, kind)),
            (item + '/subscriptions',
             subscriptions.Collection(storage, limits, sub_limits, kind,
                                      quotas=quotas)),
            (subscription,
             subscriptions.Item(storage, limits, sub_limits, kind)),
            (subscription + '/confirm',
             subscriptions.Confirm(storage, limits, kind)),
        ]
    return table


def create_app(conf: cfg.ConfigOpts, storage: Storage,
               wakeups: Publisher | None = None) -> falcon.App:
    """The falcon application serving Zaqar v2 over ``storage`` and the
    pools registered in its catalog. ``conf`` must have bridge's options
    registered (:func:`bridge.conf.register_opts`). ``wakeups`` is told of
    each post (default: nobody)."""
    pooled = pooling.wrap(storage, conf)
    limits = validation.Limits.from_conf(conf)
    key = conf.signed_url.secret_key
    gate = hooks.Gate(auth.identifier(conf), policy.Authorizer(conf), key)
    middleware: list[Any] = [gate, accesslog.RouteFacts()]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.keep_blank_qs_values = False  # "?limit=" = no limit
    errors.install(app)
    sub_limits = subscription_validation.SubscriptionLimits.from_conf(conf)
    sharing = share.Share(limits, key, conf.signed_url.default_expiry)
    quotas = bridge_quotas.Quotas(pooled, conf)
    for path, resource in routes(pooled, limits, sub_limits, sharing,
                                 quotas, pooled.registry, conf.pooling,
                                 wakeups):
        app.add_route(path, resource)
    return app


def make_wsgi_app(conf: cfg.ConfigOpts, storage: Storage,
                  wakeups: Publisher | None = None) -> auth.WSGIApp:
    """The application in its WSGI pipeline (:mod:`bridge.api.pipeline`):
    what every server runs. ``wakeups`` is told of each post."""
    pooled = pooling.wrap(storage, conf)  # metrics sample every pool
    return pipeline.build(create_app(conf, pooled, wakeups), conf, pooled)
