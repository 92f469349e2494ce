"""The REST API application: the one route table (:func:`routes`).

:func:`create_app` builds the falcon application for a configuration and a
storage; :func:`make_wsgi_app` adds the authentication pipeline chosen by
``[DEFAULT] auth_strategy`` and is what servers run.
"""

from __future__ import annotations

import falcon
from oslo_config import cfg

from bridge.api import auth
from bridge.api import claims
from bridge.api import errors
from bridge.api import flavors
from bridge.api import home
from bridge.api import hooks
from bridge.api import messages
from bridge.api import policy
from bridge.api import pools
from bridge.api import queues
from bridge.api import share
from bridge.api import subscription_validation
from bridge.api import subscriptions
from bridge.api import validation
from bridge.storage import pooling
from bridge.storage.base import Storage


def routes(storage: Storage, limits: validation.Limits,
           sub_limits: subscription_validation.SubscriptionLimits,
           sharing: share.Share, registry: pooling.Registry,
           pooling_opts: cfg.ConfigOpts.GroupAttr
           ) -> list[tuple[str, object]]:
    """Every URI template of the API and the resource serving it."""
    queue = '/v2/queues/{queue_name}'
    subscription = queue + '/subscriptions/{subscription_id}'
    return [
        ('/v2/pools', pools.Collection(registry, limits,
                                       pooling_opts.max_pools_per_page)),
        ('/v2/pools/{pool_name}', pools.Item(registry, limits)),
        ('/v2/flavors', flavors.Collection(
            registry, limits, pooling_opts.max_flavors_per_page)),
        ('/v2/flavors/{flavor_name}', flavors.Item(registry, limits)),
        ('/', home.Versions()),
        ('/v2', home.HomeDocument()),
        ('/v2/ping', home.Ping(storage)),
        ('/v2/health', home.Health(storage)),
        ('/v2/queues', queues.Collection(storage, limits)),
        (queue, queues.Item(storage, limits)),
        (queue + '/stats', queues.Stats(storage)),
        (queue + '/purge', queues.Purge(storage, limits)),
        (queue + '/share', sharing),
        (queue + '/messages', messages.Collection(storage, limits)),
        (queue + '/messages/{message_id}', messages.Item(storage)),
        (queue + '/claims', claims.Collection(storage, limits)),
        (queue + '/claims/{claim_id}', claims.Item(storage, limits)),
        (queue + '/subscriptions',
         subscriptions.Collection(storage, limits, sub_limits)),
        (subscription, subscriptions.Item(storage, limits, sub_limits)),
        (subscription + '/confirm', subscriptions.Confirm(storage, limits)),
    ]


def create_app(conf: cfg.ConfigOpts, storage: Storage) -> falcon.App:
    """The falcon application serving Zaqar v2 over ``storage`` and the
    pools registered in its catalog. ``conf`` must have bridge's options
    registered (:func:`bridge.conf.register_opts`)."""
    pooled = pooling.wrap(storage, conf)
    limits = validation.Limits.from_conf(conf)
    key = conf.signed_url.secret_key
    gate = hooks.Gate(auth.identifier(conf), policy.Authorizer(conf), key)
    app = falcon.App(middleware=[gate])
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.keep_blank_qs_values = False  # "?limit=" = no limit
    errors.install(app)
    sub_limits = subscription_validation.SubscriptionLimits.from_conf(conf)
    sharing = share.Share(limits, key, conf.signed_url.default_expiry)
    for path, resource in routes(pooled, limits, sub_limits, sharing,
                                 pooled.registry, conf.pooling):
        app.add_route(path, resource)
    return app


def make_wsgi_app(conf: cfg.ConfigOpts, storage: Storage) -> auth.WSGIApp:
    """The application wrapped in the ``auth_strategy`` pipeline."""
    return auth.install(create_app(conf, storage), conf)
