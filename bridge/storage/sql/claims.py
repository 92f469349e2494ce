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

from bridge.storage import base, errors
from bridge.storage.sql import executor
from bridge.storage.sql import messages as sql_messages
from bridge.storage.sql import queues as sql_queues
from bridge.storage.sql import rows
from bridge.storage.sql.schema import messages

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

_TAKE = (sa.update(messages)
         .where(_IN_QUEUE, messages.c.marker.in_(
             sa.bindparam('p_markers', expanding=True)))
         .values(claim_id=_p_claim,
                 claim_expires=sa.bindparam('p_claim_expires'),
                 claim_updated=_p_now,
                 claim_ttl=sa.bindparam('p_ttl'),
                 claim_grace=sa.bindparam('p_grace'),
                 claim_count=messages.c.claim_count + 1,
                 expires=_EXTEND_LIFE))
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


def _dead_letter_policy(meta: dict[str, Any]
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
           limit: int, now: float) -> base.Claim | None:
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
        policy = _dead_letter_policy(json.loads(batch[0].queue_meta))
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
    conn.defer(_TAKE, {
        'p_project': project, 'p_queue': queue, 'p_now': now,
        'p_markers': [row.marker for row in taken], 'p_claim': claim_id,
        'p_claim_expires': now + ttl, 'p_ttl': ttl, 'p_grace': grace,
        'p_life': now + ttl + grace})
    claimed = [rows.to_message(row, now, claim_id=claim_id,
                               claim_count=row.claim_count + 1)
               for row in taken]
    return base.Claim(id=claim_id, ttl=ttl, grace=grace, updated=now,
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
        now: float) -> base.Claim:
    params = {'p_project': project, 'p_queue': queue, 'p_now': now,
              'p_claim': claim_id}
    found = conn.execute(_GET, params).all()
    if not found:
        raise errors.ClaimNotFound('claim %s not found' % claim_id)
    first = found[0]
    return base.Claim(id=claim_id, ttl=first.claim_ttl,
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
