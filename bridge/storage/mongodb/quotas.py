"""Quotas on MongoDB: the per-project overrides (collection ``quotas``:
``p`` project, ``r`` resource, ``l`` limit; unique on (p, r)) and the
counts a write checks (see the Storage module docstring for the
guarantees)."""

from __future__ import annotations

from typing import Any

import pymongo

from bridge.storage import errors


class Quotas:
    def __init__(self, db: Any) -> None:
        self._quotas = db['quotas']
        self._queues = db['queues']
        self._messages = db['messages']
        self._subs = db['subscriptions']

    def ensure_indexes(self) -> None:
        asc = pymongo.ASCENDING
        self._quotas.create_index([('p', asc), ('r', asc)], unique=True,
                                  name='project_resource')

    # -- checks ----------------------------------------------------------------

    def check_queues(self, project: str, max_queues: int | None) -> None:
        if max_queues is None:
            return
        if self._queues.count_documents({'p': project}) >= max_queues:
            raise errors.QuotaExceeded('queues', max_queues)

    def over_messages(self, qi: Any, max_messages: int, now: float) -> bool:
        """Whether the queue incarnation holds more than ``max_messages``
        unexpired messages, counting those still being written (a writer
        calls this after inserting its own, before committing them)."""
        held = self._messages.count_documents({'qi': qi, 'ex': {'$gt': now}})
        return held > max_messages

    def count_subscriptions(self, project: str, now: float) -> int:
        return self._subs.count_documents({'p': project, 'ex': {'$gt': now}})

    def check_subscriptions(self, project: str,
                            max_subscriptions: int | None,
                            now: float) -> None:
        if max_subscriptions is None:
            return
        held = self._subs.count_documents({'p': project,
                                           'ex': {'$gt': now}})
        if held >= max_subscriptions:
            raise errors.QuotaExceeded('subscriptions', max_subscriptions)

    # -- overrides -------------------------------------------------------------

    def set(self, project: str, resource: str, limit: int) -> None:
        self._quotas.update_one({'p': project, 'r': resource},
                                {'$set': {'l': limit}}, upsert=True)

    def get(self, project: str) -> dict[str, int]:
        return {d['r']: int(d['l'])
                for d in self._quotas.find({'p': project})}

    def list_(self) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for d in self._quotas.find({}).sort([('p', 1), ('r', 1)]):
            found.setdefault(d['p'], {})[d['r']] = int(d['l'])
        return found

    def delete(self, project: str, resource: str | None) -> None:
        flt = {'p': project}
        if resource is not None:
            flt['r'] = resource
        self._quotas.delete_many(flt)
