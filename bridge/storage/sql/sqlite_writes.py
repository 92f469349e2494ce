"""SQLite: a message post and a claim as one statement each.

On SQLite the cost of a write is less the work than the wait for the
database's single write lock (see :mod:`.writelock`), and the lock is held
for as long as the writer takes to get through its statements. Every call
into the sqlite3 module lets other threads take the interpreter lock, and
the writer must wait for it back before its next statement, with the write
lock held. So the frequent writes are single statements here, in their own
(implicit) transaction: the writer lets go of the interpreter once.

* A post inserts into the view ``bridge_post_v2``, whose INSTEAD OF trigger
  does, for each message, what :func:`.queues.reserve_markers` and
  :func:`.messages.post` do: bump the queue's counter and insert the
  message with it as marker. First it checks that the queue exists with
  the metadata the post was prepared for, and that the queue cannot hold
  more than ``max_messages`` with this message (markers in the queue run
  from its smallest one to its counter, so that is an upper bound of its
  messages; see :func:`.guarded.post`); if not, the statement aborts
  (nothing is written, whatever the number of messages) and the caller
  posts the general way. The write lock is held from the first row to the
  end of the statement, so markers are committed in order.
* A claim is one ``UPDATE ... RETURNING`` of the oldest claimable rows. It
  only matches while the queue's metadata is the one remembered (one with
  no dead letter policy); when it claims nothing, the caller runs the
  general claim, which tells an empty queue from changed metadata.

The view and its trigger are created with the tables (``IF NOT EXISTS``;
a new definition gets a new name). A database created by an older bridge
that has not been through ``ensure_schema`` lacks them: then every call
takes the general path.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa

from bridge.storage import models
from bridge.storage.sql import claims as sql_claims
from bridge.storage.sql import executor
from bridge.storage.sql import queues as sql_queues
from bridge.storage.sql import rows
from bridge.storage.sql.schema import messages, queues

POST_VIEW = 'bridge_post_v2'
_STALE = 'bridge: queue metadata changed'

DDL = (
    # Never holds rows: inserting into it runs the trigger.
    'CREATE VIEW IF NOT EXISTS %s AS SELECT NULL AS project, NULL AS queue,'
    ' NULL AS meta, NULL AS id, NULL AS body, NULL AS ttl, NULL AS created,'
    ' NULL AS visible_at, NULL AS expires, NULL AS client_id,'
    ' NULL AS max_messages WHERE 0'
    % POST_VIEW,
    "CREATE TRIGGER IF NOT EXISTS %s_insert INSTEAD OF INSERT ON %s BEGIN"
    " SELECT RAISE(ABORT, '%s') WHERE NOT EXISTS (SELECT 1 FROM queues"
    "  WHERE project = NEW.project AND name = NEW.queue"
    "  AND meta = NEW.meta AND counter + 2 - coalesce((SELECT min(marker)"
    "  FROM messages WHERE queue_id = queues.id), 1) <= NEW.max_messages);"
    " UPDATE queues SET counter = counter + 1"
    "  WHERE project = NEW.project AND name = NEW.queue;"
    " INSERT INTO messages (queue_id, marker, id, body, ttl, created,"
    "  visible_at, expires, client_id, claim_count)"
    "  SELECT id, counter, NEW.id, NEW.body, NEW.ttl, NEW.created,"
    "  NEW.visible_at, NEW.expires, NEW.client_id, 0 FROM queues"
    "  WHERE project = NEW.project AND name = NEW.queue;"
    " END" % (POST_VIEW, POST_VIEW, _STALE),
)


def create_objects(conn: executor.Session) -> None:
    """Create the view and trigger (a no-op when they exist), in a write
    transaction."""
    for statement in DDL:
        conn.exec_driver_sql(statement)


_view = sa.Table(
    POST_VIEW, sa.MetaData(),  # not the schema's: create_all must skip it
    *(sa.Column(name, sa.Text) for name in (
        'project', 'queue', 'meta', 'id', 'body', 'client_id')),
    sa.Column('ttl', sa.Integer), sa.Column('created', sa.Double),
    sa.Column('visible_at', sa.Double), sa.Column('expires', sa.Double),
    sa.Column('max_messages', sa.BigInteger))
_POST = sa.insert(_view).values({c.name: sa.bindparam(c.name)
                                 for c in _view.c})


def post_if_unchanged(conn: executor.Session, project: str, queue: str,
                      batch: Sequence[dict[str, Any]], prepared_for: str,
                      max_messages: int) -> bool:
    """Insert ``batch`` (rows of :func:`.messages.new_row`) if the queue
    exists, its metadata is ``prepared_for`` and it surely stays within
    ``max_messages``; False (nothing written) otherwise."""
    dbapi = conn.dialect.loaded_dbapi
    rows_ = [{'project': project, 'queue': queue, 'meta': prepared_for,
              'id': row['id'], 'body': row['body'], 'ttl': row['ttl'],
              'created': row['created'], 'visible_at': row['visible_at'],
              'expires': row['expires'], 'client_id': row['client_id'],
              'max_messages': max_messages}
             for row in batch]
    try:
        conn.insert_rows(_POST, rows_)
    except dbapi.IntegrityError as error:
        if _STALE in str(error):
            return False
        raise
    except dbapi.OperationalError as error:
        if 'no such table: %s' % POST_VIEW in str(error):
            return False  # not created yet (see the module docstring)
        raise
    return True


_candidates = messages.alias('candidates')
_CLAIM = (sa.update(messages)
          .where(messages.c.queue_id == (
              sa.select(queues.c.id)
              .where(queues.c.project == sa.bindparam('p_project'),
                     queues.c.name == sa.bindparam('p_queue'),
                     queues.c.meta == sa.bindparam('p_meta'))
              .scalar_subquery()),
              messages.c.marker.in_(
                  sa.select(_candidates.c.marker)
                  .where(_candidates.c.queue_id == sql_queues.QUEUE_ID,
                         rows.unclaimed_and_visible(
                             sa.bindparam('p_now'), _candidates))
                  .order_by(_candidates.c.marker)
                  .limit(sa.bindparam('p_limit'))))
          .values(sql_claims.CLAIMED_VALUES)
          .returning(*rows.MESSAGE_COLUMNS))


def claim_if_unchanged(conn: executor.Session, project: str, queue: str,
                       prepared_for: str, *, ttl: int, grace: int,
                       limit: int, now: float, claim_id: str
                       ) -> models.Claim | None:
    """Claim as :func:`.claims.create` would if the queue's metadata is
    ``prepared_for`` (which must set no dead letter policy); None when
    nothing was claimed (an empty queue, or changed metadata)."""
    params = sql_claims.take_params(project, queue, claim_id, ttl=ttl,
                                    grace=grace, now=now)
    params.update(p_meta=prepared_for, p_limit=limit)
    taken = sorted(conn.execute(_CLAIM, params).all(),
                   key=lambda row: row.marker)
    if not taken:
        return None
    return models.Claim(id=claim_id, ttl=ttl, grace=grace, updated=now,
                      messages=[rows.to_message(row, now) for row in taken])
