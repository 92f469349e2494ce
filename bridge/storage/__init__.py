"""Message storage: one interface (:mod:`bridge.storage.base`), two drivers
(:mod:`bridge.storage.sql` for SQLite/PostgreSQL/MySQL and
:mod:`bridge.storage.mongodb`). :func:`from_url` picks one by URL scheme;
:func:`from_conf` opens the [storage] url one with its pools
(:mod:`bridge.storage.pooling`)."""

from __future__ import annotations

from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge.storage.base import Storage
from bridge.storage.codec import BodyCodec


def from_url(url: str, conf: cfg.ConfigOpts) -> Storage:
    """Open the driver that serves ``url``; ``conf`` supplies the
    [storage] tuning options and the [encryption] keys. ValueError (one
    line) for an unknown scheme or malformed keys."""
    codec = BodyCodec.from_conf(conf)
    storage: Storage
    scheme = url.split(':', 1)[0].split('+', 1)[0].lower()
    if scheme in ('sqlite', 'postgresql', 'postgres', 'mysql', 'mariadb'):
        from bridge.storage import sql
        storage = sql.SqlStorage(url, conf.storage)
    elif scheme in ('mongodb', 'mongodb+srv'):
        from bridge.storage import mongodb
        storage = mongodb.MongoStorage(url, conf.storage)
    else:
        raise ValueError('[storage] url: unsupported scheme %r; use sqlite, '
                         'postgresql, mysql+pymysql or mongodb' % scheme)
    storage.codec = codec
    return storage


def from_conf(conf: cfg.ConfigOpts) -> Storage:
    """Open the storage named by [storage] url (or the embedded default),
    with the pools registered in its catalog (:mod:`.pooling`)."""
    from bridge.storage import pooling
    return pooling.wrap(from_url(bridge_conf.storage_url(conf), conf), conf)
