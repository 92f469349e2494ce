"""Tables of the SQL driver (SQLAlchemy Core; SQLite, PostgreSQL, MariaDB).

Three tables (and ``subscriptions``, described where it is defined):

``queues``
    One row per (project, name). ``counter`` is the last marker handed out
    in the queue: every post locks this row (see :mod:`.queues`), which is
    what makes markers commit in increasing order.
``messages``
    Keyed by (queue_id, marker), so a page of a queue is one index range
    scan in marker order. Claims live on the message rows (``claim_*``
    columns): a claim *is* the set of rows carrying its id with
    ``claim_expires`` in the future.
``dedup_keys``
    Dedup keys seen per queue, kept for ``Storage.dedup_window`` seconds
    whether or not their message still exists.

Times are epoch seconds (``DOUBLE``). Text that is compared or sorted
(project, queue name, ids, dedup keys) uses a binary collation on every
backend, so names are case sensitive and sort by code point everywhere.
There are no foreign keys: the driver deletes dependent rows itself in the
same transaction, and inserts skip the extra lookups foreign keys cost.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

#: Longest project id, queue name, Client-ID and dedup key stored. The API
#: validates requests against its own (smaller) limits first.
PROJECT_LENGTH = 256
QUEUE_NAME_LENGTH = 64
CLIENT_ID_LENGTH = 64
DEDUP_KEY_LENGTH = 255
UUID_LENGTH = 36


def _exact(length: int) -> sa.types.TypeEngine:
    """A VARCHAR compared and sorted byte-wise on every backend."""
    return (sa.String(length)
            .with_variant(postgresql.VARCHAR(length, collation='C'),
                          'postgresql')
            .with_variant(mysql.VARCHAR(length, charset='utf8mb4',
                                        collation='utf8mb4_bin'),
                          'mysql', 'mariadb'))


# A large text column: MySQL's TEXT stops at 64 KiB, message bodies may not.
_DOCUMENT = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')
# SQLite only auto-increments a column declared exactly INTEGER.
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

_MYSQL: dict[str, Any] = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4',
          'mariadb_engine': 'InnoDB', 'mariadb_charset': 'utf8mb4'}

metadata = sa.MetaData()

queues = sa.Table(
    'queues', metadata,
    sa.Column('id', _ROW_ID, primary_key=True, autoincrement=True),
    sa.Column('project', _exact(PROJECT_LENGTH), nullable=False),
    sa.Column('name', _exact(QUEUE_NAME_LENGTH), nullable=False),
    sa.Column('meta', _DOCUMENT, nullable=False),
    sa.Column('counter', sa.BigInteger, nullable=False),
    sa.Column('created', sa.Double, nullable=False),
    sa.UniqueConstraint('project', 'name', name='uq_queues_project_name'),
    **_MYSQL,
)

messages = sa.Table(
    'messages', metadata,
    sa.Column('queue_id', sa.BigInteger, primary_key=True,
              autoincrement=False),
    sa.Column('marker', sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column('id', _exact(UUID_LENGTH), nullable=False),
    sa.Column('body', _DOCUMENT, nullable=False),
    sa.Column('ttl', sa.Integer, nullable=False),
    sa.Column('created', sa.Double, nullable=False),
    sa.Column('visible_at', sa.Double, nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    sa.Column('client_id', _exact(CLIENT_ID_LENGTH)),
    sa.Column('claim_id', _exact(UUID_LENGTH)),
    sa.Column('claim_expires', sa.Double),
    sa.Column('claim_updated', sa.Double),
    sa.Column('claim_ttl', sa.Integer),
    sa.Column('claim_grace', sa.Integer),
    sa.Column('claim_count', sa.Integer, nullable=False),
    sa.UniqueConstraint('id', name='uq_messages_id'),
    sa.Index('ix_messages_claim_id', 'claim_id'),
    **_MYSQL,
)

dedup_keys = sa.Table(
    'dedup_keys', metadata,
    sa.Column('queue_id', sa.BigInteger, primary_key=True,
              autoincrement=False),
    sa.Column('dedup_key', _exact(DEDUP_KEY_LENGTH), primary_key=True),
    sa.Column('message_id', _exact(UUID_LENGTH), nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    **_MYSQL,
)

#: Longest notifier lease owner id (hostname-pid-uuid).
OWNER_LENGTH = 255
SECRET_LENGTH = 255
SUBSCRIBER_KEY_LENGTH = 64  # hex SHA-256

# ``subscriptions`` (see :mod:`.subscriptions`): one row per subscriber of a
# queue, with its delivery cursor and the notifier lease. The subscriber
# itself is free text of any length; uniqueness per queue is enforced on
# its SHA-256 (``subscriber_key``), which fits every backend's index limit.
# Booleans are 0/1 integers (the executor converts no result types).
subscriptions = sa.Table(
    'subscriptions', metadata,
    sa.Column('id', _exact(UUID_LENGTH), primary_key=True),
    sa.Column('project', _exact(PROJECT_LENGTH), nullable=False),
    sa.Column('queue', _exact(QUEUE_NAME_LENGTH), nullable=False),
    sa.Column('subscriber', sa.Text, nullable=False),
    sa.Column('subscriber_key', _exact(SUBSCRIBER_KEY_LENGTH),
              nullable=False),
    sa.Column('ttl', sa.Integer, nullable=False),
    sa.Column('created', sa.Double, nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    sa.Column('options', _DOCUMENT, nullable=False),
    sa.Column('secret', sa.String(SECRET_LENGTH), nullable=False),
    sa.Column('confirmed', sa.Integer, nullable=False),
    sa.Column('confirmation_sent', sa.Integer, nullable=False),
    sa.Column('cursor_marker', sa.BigInteger, nullable=False),
    sa.Column('failures', sa.Integer, nullable=False),
    sa.Column('next_attempt', sa.Double, nullable=False),
    sa.Column('last_success', sa.Double),
    sa.Column('last_error', sa.Text),
    sa.Column('last_error_at', sa.Double),
    sa.Column('lease_owner', sa.String(OWNER_LENGTH)),
    sa.Column('lease_expires', sa.Double, nullable=False),
    sa.Column('lease_seconds', sa.Double, nullable=False),
    sa.UniqueConstraint('project', 'queue', 'subscriber_key',
                        name='uq_subscriptions_subscriber'),
    sa.Index('ix_subscriptions_queue_id', 'project', 'queue', 'id'),
    sa.Index('ix_subscriptions_next_attempt', 'next_attempt'),
    **_MYSQL,
)

# The pool catalog (see :mod:`bridge.storage.catalog` and :mod:`.catalog`):
# pools and flavors as named JSON documents, and one placement row per
# (project, queue) that lives on a pool. Only the default [storage] url
# database uses them; they are created (empty) in every database.
catalog_entries = sa.Table(
    'catalog_entries', metadata,
    sa.Column('kind', _exact(16), primary_key=True),
    sa.Column('name', _exact(QUEUE_NAME_LENGTH), primary_key=True),
    sa.Column('doc', _DOCUMENT, nullable=False),
    **_MYSQL,
)

placements = sa.Table(
    'placements', metadata,
    sa.Column('project', _exact(PROJECT_LENGTH), primary_key=True),
    sa.Column('queue', _exact(QUEUE_NAME_LENGTH), primary_key=True),
    sa.Column('pool', _exact(QUEUE_NAME_LENGTH), nullable=False),
    sa.Index('ix_placements_pool', 'pool'),
    **_MYSQL,
)

#: Longest resource type (``<service>:<kind>``) and resource id indexed.
RESOURCE_TYPE_LENGTH = 64
RESOURCE_ID_LENGTH = 255

# ``ownership`` (see :mod:`.ownership`): the ownership index, resource
# (type, id) -> owning project. ``expires`` is models.OWNER_LIVE while the
# resource lives, and the delete time plus the grace period after.
ownership = sa.Table(
    'ownership', metadata,
    sa.Column('resource_type', _exact(RESOURCE_TYPE_LENGTH),
              primary_key=True),
    sa.Column('resource_id', _exact(RESOURCE_ID_LENGTH), primary_key=True),
    sa.Column('project', _exact(PROJECT_LENGTH), nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    sa.Column('updated', sa.Double, nullable=False),
    sa.Index('ix_ownership_expires', 'expires'),
    **_MYSQL,
)

#: Longest quota resource name ("queues", "messages", "subscriptions").
RESOURCE_LENGTH = 32

# ``quotas`` (see :mod:`.quotas`): the per-project overrides an operator set
# with bridge-manage; projects without a row use the [quotas] defaults.
quotas = sa.Table(
    'quotas', metadata,
    sa.Column('project', _exact(PROJECT_LENGTH), primary_key=True),
    sa.Column('resource', _exact(RESOURCE_LENGTH), primary_key=True),
    sa.Column('hard_limit', sa.BigInteger, nullable=False),
    **_MYSQL,
)
