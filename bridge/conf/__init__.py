"""Every configuration option of bridge, in one package: one module per
part of bridge (:mod:`.service`, :mod:`.api`, :mod:`.storage`,
:mod:`.listener`, :mod:`.notifier`).

Services call :func:`register_opts` on their ``cfg.ConfigOpts`` and read
values from it; no module keeps a limit or a default as a literal.
``bridge/opts.py`` exposes the same lists to ``oslo-config-generator``.
"""

import os

from oslo_config import cfg

from bridge.conf.service import (  # noqa: F401 - the option registry
    default_opts, metrics_group, metrics_opts)
from bridge.conf.api import (  # noqa: F401 - the option registry
    NETWORK_DATABASE_WORKERS, NETWORK_DATABASE_THREADS, api_group,
    api_opts, websocket_group, websocket_opts, limits_group, limits_opts,
    signed_url_group, signed_url_opts)
from bridge.conf.storage import (  # noqa: F401 - the option registry
    storage_group, storage_opts, pooling_group, pooling_opts, quotas_group,
    quotas_opts, encryption_group, encryption_opts)
from bridge.conf.listener import (  # noqa: F401 - the option registry
    listener_group, listener_opts, translation_group, translation_opts,
    wakeup_group, wakeup_opts)
from bridge.conf.notifier import (  # noqa: F401 - the option registry
    notifier_group, notifier_opts, smtp_group, smtp_opts)


def list_opts():
    """Option groups and their options, for registration and for
    oslo-config-generator."""
    return [
        (None, default_opts),
        (api_group, api_opts),
        (websocket_group, websocket_opts),
        (storage_group, storage_opts),
        (pooling_group, pooling_opts),
        (limits_group, limits_opts),
        (listener_group, listener_opts),
        (translation_group, translation_opts),
        (notifier_group, notifier_opts),
        (metrics_group, metrics_opts),
        (smtp_group, smtp_opts),
        (signed_url_group, signed_url_opts),
        (quotas_group, quotas_opts),
        (encryption_group, encryption_opts),
        (wakeup_group, wakeup_opts),
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in list_opts():
        if group is not None:
            # A copy per ConfigOpts: oslo.config keeps overrides in the
            # OptGroup object, so sharing the module-level one would leak
            # set_override() from one ConfigOpts into every other.
            conf.register_group(cfg.OptGroup(group.name, title=group.title,
                                             help=group.help))
        conf.register_opts(opts, group=group)


def storage_url(conf: cfg.ConfigOpts) -> str:
    """The storage URL every service uses: [storage] url, or the embedded
    SQLite file under [DEFAULT] state_path."""
    if conf.storage.url:
        return conf.storage.url
    path = os.path.join(conf.state_path, 'bridge.sqlite')
    return 'sqlite:///' + path
