"""Samples for metrics: the deepest queues and the largest subscription
backlogs across all projects. Each is one aggregate over the messages
table, so callers sample them every few seconds, never per request."""

from __future__ import annotations

import sqlalchemy as sa

from bridge.storage import models
from bridge.storage.sql import executor
from bridge.storage.sql.schema import messages, queues, subscriptions

_Conn = executor.Session

_now: sa.BindParameter[float] = sa.bindparam('p_now')
_limit: sa.BindParameter[int] = sa.bindparam('p_limit')

_depth = sa.func.count().label('depth')
_QUEUES = (sa.select(queues.c.project, queues.c.name, _depth,
                     sa.func.min(messages.c.created).label('oldest'))
           .select_from(queues.join(messages,
                                    messages.c.queue_id == queues.c.id))
           .where(messages.c.expires > _now)
           .group_by(queues.c.project, queues.c.name)
           .order_by(_depth.desc(), queues.c.project, queues.c.name)
           .limit(_limit))

_backlog = sa.func.count().label('backlog')
_BACKLOGS = (sa.select(subscriptions.c.id, subscriptions.c.project,
                       subscriptions.c.queue, _backlog)
             .select_from(
                 subscriptions
                 .join(queues, sa.and_(queues.c.project
                                       == subscriptions.c.project,
                                       queues.c.name == subscriptions.c.queue))
                 .join(messages, sa.and_(
                     messages.c.queue_id == queues.c.id,
                     messages.c.marker > subscriptions.c.cursor_marker)))
             .where(subscriptions.c.expires > _now,
                    messages.c.expires > _now)
             .group_by(subscriptions.c.id, subscriptions.c.project,
                       subscriptions.c.queue)
             .order_by(_backlog.desc(), subscriptions.c.id)
             .limit(_limit))


def sample_queues(conn: _Conn, limit: int, now: float
                  ) -> list[models.QueueSample]:
    rows = conn.execute(_QUEUES, {'p_now': now, 'p_limit': limit}).all()
    return [models.QueueSample(project=r.project, queue=r.name,
                               depth=int(r.depth),
                               oldest_age=max(0.0, now - float(r.oldest)))
            for r in rows]


def sample_backlogs(conn: _Conn, limit: int, now: float
                    ) -> list[models.BacklogSample]:
    rows = conn.execute(_BACKLOGS, {'p_now': now, 'p_limit': limit}).all()
    return [models.BacklogSample(subscription_id=r.id, project=r.project,
                                 queue=r.queue, backlog=int(r.backlog))
            for r in rows]
