"""Posts and claims that depend on the queue's metadata, without reading
the metadata in a transaction of its own.

A message post depends on its queue's metadata (default ttl and delay,
size limit), a claim on its dead letter policy. Each process remembers the
metadata it last saw per queue (:class:`MetadataCache`) and prepares the
post from it; the post's transaction then reads the metadata anyway, from
the counter row it locks (see :func:`.queues.reserve_markers`), and when
that differs from what the post was prepared for, prepares it again, under
the lock, from the current metadata. A stale entry therefore costs a
second ``prepare`` and never lets a post obey metadata the queue no longer
has: a client that changes the metadata, then posts, is served by the new
metadata whichever process answers. A refusal is never based on
remembered metadata either: if ``prepare`` refuses, the metadata is read
afresh and ``prepare`` runs again.

On PostgreSQL and SQLite, a post (without dedup keys) and a claim on a
queue without a dead letter policy are single statements, one round trip
in a transaction of their own, that only act while the queue's metadata is
still the one remembered: the statement itself checks it. Otherwise they
do nothing and the call takes the general path, which is exact. (SQLite's
statements are in :mod:`.sqlite_writes`.) MariaDB always takes the
general path.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bridge.storage import models
from bridge.storage.sql import claims as sql_claims
from bridge.storage.sql import executor
from bridge.storage.sql import messages as sql_messages
from bridge.storage.sql import queues as sql_queues
from bridge.storage.sql import sqlite_writes
from bridge.storage.sql import transactor as sql_transactor
from bridge.storage.sql.schema import messages, queues

#: Metadata of a queue that does not exist yet (what creating it stores).
_NO_QUEUE = json.dumps({})
#: Backends where a post and a claim can be one statement (MariaDB has
#: neither UPDATE ... RETURNING nor data-modifying WITH).
_ONE_STATEMENT = frozenset({'postgresql', 'sqlite'})


class MetadataCache:
    """Queue metadata (JSON text and parsed) last seen by this process, by
    (project, queue). Bounded: at most ``MAX_ENTRIES`` queues, metadata of
    at most ``MAX_TEXT`` characters (larger ones are always read)."""

    MAX_ENTRIES = 4096
    MAX_TEXT = 16 * 1024

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, project: str, queue: str
            ) -> tuple[str, dict[str, Any]] | None:
        return self._entries.get((project, queue))

    def put(self, project: str, queue: str, text: str,
            parsed: dict[str, Any] | None = None) -> None:
        key = (project, queue)
        known = self._entries.get(key)
        if known is not None and known[0] == text:
            return
        if len(text) > self.MAX_TEXT:
            self.drop(project, queue)
            return
        value = (text, json.loads(text) if parsed is None else parsed)
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value

    def drop(self, project: str, queue: str) -> None:
        self._entries.pop((project, queue), None)


# PostgreSQL: a post in one statement, so in one round trip and its own
# transaction. The UPDATE of the counter row (the marker lock, see
# :mod:`.queues`) only matches while the metadata is the one the batch was
# prepared for; otherwise nothing is inserted and the caller posts the
# usual way. The messages come as arrays, one per column, so the statement
# text is the same for any batch size; WITH ORDINALITY numbers them in
# order, which gives their markers.
_p = sa.bindparam
#
# Quota: the queue's messages have markers from its smallest one to its
# counter, so ``counter + count - smallest + 1`` bounds what it holds after
# the post; the UPDATE only matches while that is within ``p_max``. (The
# smallest marker comes from the statement's snapshot, which can only be
# lower than the current one: a looser bound, never a wrong one. Over
# the bound, the general path counts exactly.)
_SMALLEST = (sa.select(sa.func.coalesce(sa.func.min(messages.c.marker), 1))
             .where(messages.c.queue_id == queues.c.id)
             .scalar_subquery())
_BUMPED = (sa.update(queues)
           .where(queues.c.project == _p('p_project'),
                  queues.c.name == _p('p_queue'),
                  queues.c.meta == _p('p_meta'),
                  queues.c.counter + _p('p_count') - _SMALLEST + 1
                  <= _p('p_max'))
           .values(counter=queues.c.counter + _p('p_count'))
           .returning(queues.c.id, queues.c.counter)
           .cte('bumped'))
_BATCH = (sa.func.unnest(
    sa.cast(_p('p_ids'), postgresql.ARRAY(sa.Text)),
    sa.cast(_p('p_bodies'), postgresql.ARRAY(sa.Text)),
    sa.cast(_p('p_ttls'), postgresql.ARRAY(sa.Integer)),
    sa.cast(_p('p_visible_at'), postgresql.ARRAY(sa.Double)),
    sa.cast(_p('p_expires'), postgresql.ARRAY(sa.Double)))
    .table_valued('id', 'body', 'ttl', 'visible_at', 'expires',
                  with_ordinality='ord')
    .render_derived(name='batch'))
_POST_IF_UNCHANGED = sa.insert(messages).from_select(
    ['queue_id', 'marker', 'id', 'body', 'ttl', 'created', 'visible_at',
     'expires', 'client_id', 'claim_count'],
    sa.select(_BUMPED.c.id, _BUMPED.c.counter - _p('p_count') + _BATCH.c.ord,
              _BATCH.c.id, _BATCH.c.body, _BATCH.c.ttl,
              sa.cast(_p('p_now'), sa.Double), _BATCH.c.visible_at,
              _BATCH.c.expires, sa.cast(_p('p_client'), sa.Text),
              sa.literal_column('0'))
    .select_from(_BUMPED).join(_BATCH, sa.true()))
executor.prepared(_POST_IF_UNCHANGED)


#: ``max_messages`` of a post without one (no queue holds this many).
_UNBOUNDED = 2 ** 62


def _post_if_unchanged(conn: executor.Session, project: str, queue: str,
                       batch: Sequence[models.NewMessage], prepared_for: str,
                       client_id: str | None, now: float,
                       max_messages: int | None) -> list[str] | None:
    """Post ``batch`` in one statement if the queue exists, its metadata
    is still ``prepared_for``, and it surely stays within
    ``max_messages``; the ids, else None (nothing posted)."""
    bound = _UNBOUNDED if max_messages is None else max_messages
    ids = [str(uuid.uuid4()) for _ in batch]
    rows = [sql_messages.new_row(0, 0, message_id, message, client_id, now)
            for message_id, message in zip(ids, batch, strict=True)]
    if conn.dialect.name == 'sqlite':
        posted = sqlite_writes.post_if_unchanged(conn, project, queue, rows,
                                                 prepared_for, bound)
        return ids if posted else None
    params = {
        'p_project': project, 'p_queue': queue, 'p_meta': prepared_for,
        'p_count': len(batch), 'p_now': now, 'p_client': client_id,
        'p_max': bound,
        'p_ids': ids, 'p_bodies': [row['body'] for row in rows],
        'p_ttls': [row['ttl'] for row in rows],
        'p_visible_at': [row['visible_at'] for row in rows],
        'p_expires': [row['expires'] for row in rows]}
    if conn.execute(_POST_IF_UNCHANGED, params).rowcount == len(batch):
        return ids
    return None


def post(tx: sql_transactor.Transactor, cache: MetadataCache, project: str,
         queue: str, prepare: sql_messages.Prepare, client_id: str | None,
         dedup_window: int, max_messages: int | None = None,
         max_queues: int | None = None) -> list[str]:
    """Storage.post_prepared on SQL: see the module docstring. With
    ``max_messages``, the one-statement post only goes ahead while a bound
    of the queue's messages shows the batch fits; otherwise the general
    path counts them exactly, under the queue's counter lock."""
    known = cache.get(project, queue)
    batch = None
    if known is not None:
        text, metadata = known
        try:
            batch = prepare(metadata)
        except Exception:
            # Perhaps refused by metadata that changed since: read it.
            cache.drop(project, queue)
    if batch is None:
        stored = tx.autocommit(lambda conn: sql_queues.metadata_text(
            conn, project, queue))
        text = _NO_QUEUE if stored is None else stored
        metadata = json.loads(text)
        batch = prepare(metadata)
    if not batch:
        return []
    now = time.time()
    if (tx.engine.dialect.name in _ONE_STATEMENT
            and all(m.dedup_key is None for m in batch)):
        posted = tx.autocommit(lambda conn: _post_if_unchanged(
            conn, project, queue, batch, text, client_id, now,
            max_messages))
        if posted is not None:
            cache.put(project, queue, text, metadata)
            return posted
    ids, current = tx.write(lambda conn: sql_messages.post_prepared(
        conn, project, queue, batch, text, prepare, client_id, now,
        dedup_window, max_messages, max_queues))
    cache.put(project, queue, current, metadata if current == text else None)
    return ids


def claim(tx: sql_transactor.Transactor, cache: MetadataCache, project: str,
          queue: str, *, ttl: int, grace: int, limit: int
          ) -> models.Claim | None:
    """Storage.create_claim on SQL: see the module docstring."""
    now = time.time()
    known = cache.get(project, queue)
    dialect = tx.engine.dialect.name
    if (limit > 0 and known is not None and dialect in _ONE_STATEMENT
            and sql_claims.dead_letter_policy(known[1]) is None):
        text = known[0]
        if dialect == 'sqlite':
            claim_id = str(uuid.uuid4())
            taken = tx.autocommit(
                lambda conn: sqlite_writes.claim_if_unchanged(
                    conn, project, queue, text, ttl=ttl, grace=grace,
                    limit=limit, now=now, claim_id=claim_id))
            if taken is not None:
                return taken
            # Nothing claimable, or changed metadata: the general claim
            # tells which.
        else:
            outcome = tx.autocommit(
                lambda conn: sql_claims.claim_if_unchanged(
                    conn, project, queue, text, ttl=ttl, grace=grace,
                    limit=limit, now=now))
            if outcome is not sql_claims.STALE:
                return outcome
            cache.drop(project, queue)
    return tx.write(lambda conn: sql_claims.create(
        conn, project, queue, ttl=ttl, grace=grace, limit=limit, now=now))
