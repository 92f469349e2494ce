"""Entry point for oslo-config-generator (``oslo.config.opts`` in setup.cfg)."""

from bridge import conf


def list_opts():
    return conf.list_opts()
