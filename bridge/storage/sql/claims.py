"""Claims: a claim is the set of message rows carrying its id whose
``claim_expires`` is in the future; there is no separate claim row, so
creating a claim is one locking SELECT and one UPDATE.

A claim that no longer holds any message (all deleted or expired) is
unknown: get and update answer ClaimNotFound, as Zaqar's MongoDB driver
does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from bridge.storage import errors, models
from bridge.storage.sql import executor
from bridge.storage.sql import messages as sql_messages
from bridge.storage.sql import queues as sql_queues
from bridge.storage.sql import rows
from bridge.storage.sql.schema import messages, queues

_Conn = executor.Session
_p_now: sa.BindParameter[Any] = sa.bindparam('p_now')
_p_claim: sa.BindParameter[Any] = sa.bindparam('p_claim')
# The claimed messages' new minimum expiry (claim expiry + grace).
_p_life: sa.BindParameter[Any] = sa.bindparam('p_life')
_IN_QUEUE = messages.c.queue_id == sql_queues.QUEUE_ID
_HELD = sa.and_(_IN_QUEUE, messages.c.claim_id == _p_claim,
                messages.c.claim_expires > _p_now,
                messages.c.expires > _p_now)
_EXTEND_LIFE = sa.case((messages.c.expires < _p_life, _p_life),
                       else_=messages.c.expires)

#: What claiming sets on a message row (parameters: :func:`take_params`).
CLAIMED_VALUES = {
    'claim_id': _p_claim,
    'claim_expires': sa.bindparam('p_claim_expires'),
    'claim_updated': _p_now,
    'claim_ttl': sa.bindparam('p_ttl'),
    'claim_grace': sa.bindparam('p_grace'),
    'claim_count': messages.c.claim_count + 1,
    'expires': _EXTEND_LIFE,
}
_TAKE = (sa.update(messages)
         .where(_IN_QUEUE, messages.c.marker.in_(
             sa.bindparam('p_markers', expanding=True)))
         .values(CLAIMED_VALUES))


def take_params(project: str, queue: str, claim_id: str, *, ttl: int,
                grace: int, now: float) -> dict[str, Any]:
    """Parameters of :data:`CLAIMED_VALUES` and of the queue's name."""
    return {'p_project': project, 'p_queue': queue, 'p_now': now,
            'p_claim': claim_id, 'p_claim_expires': now + ttl, 'p_ttl': ttl,
            'p_grace': grace, 'p_life': now + ttl + grace}
_RENEW = (sa.update(messages).where(_HELD)
          .values(claim_expires=sa.bindparam('p_claim_expires'),
                  claim_updated=_p_now,
                  claim_ttl=sa.bindparam('p_ttl'),
                  claim_grace=sa.bindparam('p_grace'),
                  expires=_EXTEND_LIFE))
_RELEASE = (sa.update(messages)
            .where(_IN_QUEUE, messages.c.claim_id == _p_claim)
            .values(claim_id=None, claim_expires=None))
_GET = (sa.select(*rows.MESSAGE_COLUMNS, messages.c.claim_ttl,
                  messages.c.claim_grace, messages.c.claim_updated)
        .where(_HELD).order_by(messages.c.marker))


# PostgreSQL: a claim in one statement (one round trip, its own
# transaction), as pgmq claims: lock the oldest claimable rows, skipping
# rows other claimers hold (FOR UPDATE SKIP LOCKED), and mark them claimed.
# It only claims while the queue's metadata is ``p_meta``, metadata known
# to set no dead letter policy (see :func:`.guarded.claim`); the first
# column says whether it was, and the outer join keeps one row when
# nothing was claimed, so the caller can tell "nothing to claim" (same
# true, no message) from "metadata changed" (same false) and from "no such
# queue" (no row).
_QUEUE = (sa.select(queues.c.id,
                    (queues.c.meta == sa.bindparam('p_meta')).label('same'))
          .where(queues.c.project == sa.bindparam('p_project'),
                 queues.c.name == sa.bindparam('p_queue'))
          .cte('queue'))
# The queue id as a scalar subquery (not a join with the CTE above): the
# planner then reads the queue's rows from the primary key index in marker
# order and stops at the limit, whatever the statistics say about other
# queues.
_CLAIMABLE = (sa.select(messages.c.queue_id, messages.c.marker)
              .where(messages.c.queue_id == sa.select(queues.c.id).where(
                         queues.c.project == sa.bindparam('p_project'),
                         queues.c.name == sa.bindparam('p_queue'),
                         queues.c.meta == sa.bindparam('p_meta'))
                     .scalar_subquery(),
                     rows.unclaimed_and_visible(_p_now))
              .order_by(messages.c.marker).limit(sa.bindparam('p_limit'))
              .with_for_update(skip_locked=True)
              .cte('claimable'))
_CLAIMED = (sa.update(messages)
            .where(messages.c.queue_id == _CLAIMABLE.c.queue_id,
                   messages.c.marker == _CLAIMABLE.c.marker)
            .values(CLAIMED_VALUES)
            .returning(*rows.MESSAGE_COLUMNS)
            .cte('claimed'))
_CLAIM_IF_UNCHANGED = executor.prepared(
    sa.select(_QUEUE.c.same, *_CLAIMED.c)
    .select_from(_QUEUE.outerjoin(_CLAIMED, sa.true())))

#: What :func:`claim_if_unchanged` returns when the metadata changed.
STALE = object()


def claim_if_unchanged(conn: _Conn, project: str, queue: str,
                       prepared_for: str, *, ttl: int, grace: int,
                       limit: int, now: float) -> Any:
    """PostgreSQL only: claim as :func:`create` would if the queue's
    metadata is ``prepared_for`` (which must set no dead letter policy);
    the claim or None, or :data:`STALE` (nothing done) if the metadata
    changed."""
    claim_id = str(uuid.uuid4())
    params = take_params(project, queue, claim_id, ttl=ttl, grace=grace,
                         now=now)
    params.update(p_meta=prepared_for, p_limit=limit)
    found = conn.execute(_CLAIM_IF_UNCHANGED, params).all()
    if not found:
        return None  # no such queue
    if not found[0].same:
        return STALE
    taken = sorted((row for row in found if row.id is not None),
                   key=lambda row: row.marker)
    if not taken:
        return None
    return models.Claim(id=claim_id, ttl=ttl, grace=grace, updated=now,
                      messages=[rows.to_message(row, now) for row in taken])


def dead_letter_policy(meta: dict[str, Any]
                        ) -> tuple[int, str, int | None] | None:
    """(max claim count, dead letter queue, ttl or None) when the queue
    metadata configures dead letters, else None."""
    limit = meta.get('_max_claim_count')
    target = meta.get('_dead_letter_queue')
    if (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1
            or not isinstance(target, str) or not target):
        return None
    ttl = meta.get('_dead_letter_queue_messages_ttl')
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 1:
        ttl = None
    return limit, target, ttl


def create(conn: _Conn, project: str, queue: str, *, ttl: int, grace: int,
           limit: int, now: float) -> models.Claim | None:
    """Claim up to ``limit`` messages; see Storage.create_claim."""
    if limit <= 0:
        return None
    taken: list[Any] = []
    after = 0
    while len(taken) < limit:
        batch = sql_messages.take_candidates(
            conn, project, queue, limit - len(taken), now, after=after)
        if not batch:
            break
        after = batch[-1].marker
        policy = dead_letter_policy(json.loads(batch[0].queue_meta))
        if policy is None:
            taken.extend(batch)
            break
        dead = [row for row in batch if row.claim_count >= policy[0]]
        taken.extend(row for row in batch if row.claim_count < policy[0])
        if not dead:
            break
        _move_dead_letters(conn, project, queue, dead, policy, now)
    if not taken:
        return None
    claim_id = str(uuid.uuid4())
    params = take_params(project, queue, claim_id, ttl=ttl, grace=grace,
                         now=now)
    params['p_markers'] = [row.marker for row in taken]
    conn.defer(_TAKE, params)
    claimed = [rows.to_message(row, now, claim_id=claim_id,
                               claim_count=row.claim_count + 1)
               for row in taken]
    return models.Claim(id=claim_id, ttl=ttl, grace=grace, updated=now,
                      messages=claimed)


def _move_dead_letters(conn: _Conn, project: str, queue: str,
                       dead: list[Any], policy: tuple[int, str, int | None],
                       now: float) -> None:
    """Move rows this transaction has locked to the dead letter queue."""
    _, target, ttl = policy
    sql_messages.delete_markers(conn, project, queue,
                                [row.marker for row in dead])
    sql_messages.insert_moved(conn, project, target,
                              [(row, ttl or row.ttl) for row in dead], now)


def get(conn: _Conn, project: str, queue: str, claim_id: str,
        now: float) -> models.Claim:
    params = {'p_project': project, 'p_queue': queue, 'p_now': now,
              'p_claim': claim_id}
    found = conn.execute(_GET, params).all()
    if not found:
        raise errors.ClaimNotFound('claim %s not found' % claim_id)
    first = found[0]
    return models.Claim(id=claim_id, ttl=first.claim_ttl,
                      grace=first.claim_grace, updated=first.claim_updated,
                      messages=[rows.to_message(row, now) for row in found])


def update(conn: _Conn, project: str, queue: str, claim_id: str, *,
           ttl: int, grace: int, now: float) -> None:
    params = {'p_project': project, 'p_queue': queue, 'p_now': now,
              'p_claim': claim_id, 'p_claim_expires': now + ttl,
              'p_ttl': ttl, 'p_grace': grace, 'p_life': now + ttl + grace}
    if not conn.execute(_RENEW, params).rowcount:
        raise errors.ClaimNotFound('claim %s not found' % claim_id)


def release(conn: _Conn, project: str, queue: str, claim_id: str) -> None:
    conn.execute(_RELEASE, {'p_project': project, 'p_queue': queue,
                            'p_claim': claim_id})
