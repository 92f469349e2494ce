"""WSGI entry point for uwsgi, gunicorn or mod_wsgi (``bridge-wsgi-api``).

Configuration is read from the files named by ``BRIDGE_CONFIG_FILE`` (comma
separated), else from oslo.config's default locations for project
``bridge`` (``~/.bridge/``, ``~/``, ``/etc/bridge/``, ``/etc/`` ...). Each
worker process calls :func:`init_application` and opens its own storage
connections. Create the schema first with ``bridge-manage db sync``.
"""

from __future__ import annotations

import os
from typing import Sequence

from oslo_config import cfg
from oslo_log import log

from bridge import conf as bridge_conf
from bridge import logsafe
from bridge import storage
from bridge.api import app
from bridge.api import auth

CONFIG_ENV = 'BRIDGE_CONFIG_FILE'


def load_conf(args: Sequence[str] = (),
              config_files: Sequence[str] | None = None,
              cli_opts: Sequence[cfg.Opt] = ()) -> cfg.ConfigOpts:
    """A parsed configuration with bridge's options and oslo.log's, and
    logging set up (control characters in messages escaped, see
    :mod:`bridge.logsafe`). ``config_files=None`` means the default
    locations."""
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    log.register_options(conf)
    if cli_opts:
        conf.register_cli_opts(cli_opts)
    conf(list(args), project='bridge',
         default_config_files=None if config_files is None
         else list(config_files))
    log.setup(conf, 'bridge')
    logsafe.install()
    return conf


def config_files_from_env() -> list[str] | None:
    value = os.environ.get(CONFIG_ENV, '').strip()
    if not value:
        return None
    return [path.strip() for path in value.split(',') if path.strip()]


def init_application() -> auth.WSGIApp:
    """Entry point ``wsgi_scripts``: the WSGI application of one worker."""
    conf = load_conf(config_files=config_files_from_env())
    return app.make_wsgi_app(conf, storage.from_conf(conf))
