"""Samples for metrics on MongoDB: the deepest queues (one aggregation
over the messages) and the largest subscription backlogs (one count per
unexpired subscription). Sampled every few seconds, never per request."""

from __future__ import annotations

from pymongo.collection import Collection

from bridge.storage import models

def _live(now: float) -> dict:
    """Messages every sample counts: unexpired, not moved to a dead letter
    queue (tombstones have ``ex`` 0)."""
    return {'ex': {'$gt': now}, 'mv': {'$exists': False}}


def sample_queues(messages: Collection, limit: int, now: float
                  ) -> list[models.QueueSample]:
    groups = messages.aggregate([
        {'$match': _live(now)},
        {'$group': {'_id': {'p': '$p', 'q': '$q'}, 'n': {'$sum': 1},
                    'cr': {'$min': '$cr'}}}])
    samples = [models.QueueSample(project=g['_id']['p'], queue=g['_id']['q'],
                                  depth=int(g['n']),
                                  oldest_age=max(0.0, now - float(g['cr'])))
               for g in groups]
    samples.sort(key=lambda s: (-s.depth, s.project, s.queue))
    return samples[:limit]


def sample_backlogs(subscriptions: Collection, messages: Collection,
                    limit: int, now: float) -> list[models.BacklogSample]:
    samples = []
    for sub in subscriptions.find({'ex': {'$gt': now}},
                                  {'p': 1, 'q': 1, 'cur': 1}):
        count = messages.count_documents(
            {**_live(now), 'p': sub['p'], 'q': sub['q'],
             'k': {'$gt': sub['cur']}})
        if count:
            samples.append(models.BacklogSample(
                subscription_id=str(sub['_id']), project=sub['p'],
                queue=sub['q'], backlog=count))
    samples.sort(key=lambda s: (-s.backlog, s.subscription_id))
    return samples[:limit]
