"""Subscription resources: subscribe, list, show, update, unsubscribe,
confirm.

The API only records subscriptions; ``bridge-notifier`` delivers. A
subscription's HMAC secret is generated here and shown once, in the
response to its creation (for webhooks, also in the ``whsec_`` form
Standard Webhooks verifiers take). With ``[notifier] require_confirmation`` a new
subscription (or one whose subscriber changed) receives nothing until it
is confirmed through ``PUT .../confirm``; otherwise it is confirmed from
the start.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import falcon

from bridge import quotas as bridge_quotas
from bridge.api import errors
from bridge.api import kinds
from bridge.api import subscription_validation
from bridge.api import validation
from bridge.api import wire
from bridge.notifier import signing
from bridge.storage import errors as storage_errors
from bridge.storage.base import Storage
from bridge.storage.models import Subscription

#: Bytes of randomness in a subscription secret (base64url: 43 characters).
SECRET_BYTES = 32
_PURGE_PAGE = 100


def _time(timestamp: float | None) -> str | None:
    return None if timestamp is None else wire.iso8601(timestamp)


def document(sub: Subscription, now: float) -> dict[str, Any]:
    """A subscription as the API shows it: Zaqar's fields (never the
    secret), plus where delivery stands."""
    return {'id': sub.id,
            'source': sub.queue,
            'subscriber': sub.subscriber,
            'ttl': sub.ttl,
            'age': sub.age(now),
            'options': sub.options,
            'confirmed': sub.confirmed,
            'delivery': {'last_success': _time(sub.last_success),
                         'last_error': sub.last_error,
                         'last_error_at': _time(sub.last_error_at),
                         'failures': sub.failures}}


def delete_all(storage: Storage, project: str, queue: str) -> None:
    """Unsubscribe everyone from the queue (purge with ``resource_types``
    holding ``subscriptions``)."""
    marker = None
    while True:
        page = storage.list_subscriptions(project, queue, marker=marker,
                                          limit=_PURGE_PAGE)
        for sub in page:
            storage.delete_subscription(project, queue, sub.id)
        if len(page) < _PURGE_PAGE:
            return
        marker = page[-1].id


def _already_subscribed() -> errors.Conflict:
    return errors.Conflict('This subscriber is already subscribed to the '
                           'queue.')


class Collection(kinds.Served):
    """``/v2/queues/{queue_name}/subscriptions`` (or a topic's)"""

    rules = {'POST': 'subscription:create', 'GET': 'subscription:get_all'}

    def __init__(self, storage: Storage, limits: validation.Limits,
                 sub_limits: subscription_validation.SubscriptionLimits,
                 kind: kinds.Kind = kinds.QUEUE, *,
                 quotas: bridge_quotas.Quotas) -> None:
        self._storage = storage
        self._limits = limits
        self._sub_limits = sub_limits
        self._quotas = quotas
        self.serve(kind)

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                queue_name: str) -> None:
        new = subscription_validation.new_subscription(
            wire.read_json(req, self._limits, required=True), self._sub_limits)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        try:
            sub = self._storage.create_subscription(
                req.context.owner, queue_name, new.subscriber, ttl=new.ttl,
                options=new.options, secret=secret,
                confirmed=not self._sub_limits.require_confirmation,
                max_subscriptions=self._quotas.of(
                    req.context.project).subscriptions)
        except storage_errors.Conflict:
            raise _already_subscribed()
        resp.location = req.path + '/' + sub.id
        created = {'subscription_id': sub.id, 'secret': secret}
        if not new.subscriber[:7].lower() == 'mailto:':
            # The same secret, as Standard Webhooks verifiers take it.
            created['standard_webhooks_secret'] = \
                signing.standard_webhooks_secret(secret)
        wire.send(resp, created, falcon.HTTP_201)

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str) -> None:
        limits = self._sub_limits
        limit = validation.int_param(req.get_param('limit'), 'limit',
                                     limits.default_per_page, 1,
                                     limits.max_per_page)
        subs = self._storage.list_subscriptions(
            req.context.owner, queue_name, marker=req.get_param('marker'),
            limit=limit)
        now = time.time()
        links: list[dict[str, str]] = []
        if subs:
            links = wire.next_link(req.path,
                                   {'limit': limit, 'marker': subs[-1].id})
        wire.send(resp, {'subscriptions': [document(s, now) for s in subs],
                         'links': links})


class Item(kinds.Served):
    """``/v2/queues/{queue_name}/subscriptions/{subscription_id}`` (or a
    topic's)"""

    rules = {'GET': 'subscription:get', 'PATCH': 'subscription:update',
             'DELETE': 'subscription:delete'}

    def __init__(self, storage: Storage, limits: validation.Limits,
                 sub_limits: subscription_validation.SubscriptionLimits,
                 kind: kinds.Kind = kinds.QUEUE) -> None:
        self._storage = storage
        self._limits = limits
        self._sub_limits = sub_limits
        self.serve(kind)

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str, subscription_id: str) -> None:
        sub = self._storage.get_subscription(req.context.owner, queue_name,
                                             subscription_id)
        wire.send(resp, document(sub, time.time()))

    def on_patch(self, req: falcon.Request, resp: falcon.Response,
                 queue_name: str, subscription_id: str) -> None:
        changes = subscription_validation.subscription_changes(
            wire.read_json(req, self._limits, required=True), self._sub_limits)
        project = req.context.owner
        if 'subscriber' in changes or 'options' in changes:
            current = self._storage.get_subscription(project, queue_name,
                                                     subscription_id)
            subscription_validation.options_fit(
                changes.get('subscriber', current.subscriber),
                changes.get('options', current.options))
            if 'subscriber' in changes and \
                    not self._sub_limits.require_confirmation and \
                    changes['subscriber'] != current.subscriber:
                # A new subscriber starts unconfirmed, and nobody would
                # ever confirm it. (The same subscriber again keeps its
                # state: a paused subscription stays paused.)
                changes['confirmed'] = True
        try:
            self._storage.update_subscription(
                project, queue_name, subscription_id, **changes)
        except storage_errors.Conflict:
            raise _already_subscribed()
        resp.status = falcon.HTTP_204
        resp.location = req.path

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  queue_name: str, subscription_id: str) -> None:
        self._storage.delete_subscription(req.context.owner, queue_name,
                                          subscription_id)
        resp.status = falcon.HTTP_204


class Confirm(kinds.Served):
    """``/v2/queues/{queue_name}/subscriptions/{subscription_id}/confirm``:
    ``{"confirmed": true}`` starts delivery (of messages posted from then
    on), ``false`` stops it until the subscription is confirmed again."""

    rules = {'PUT': 'subscription:confirm'}

    def __init__(self, storage: Storage, limits: validation.Limits,
                 kind: kinds.Kind = kinds.QUEUE) -> None:
        self._storage = storage
        self._limits = limits
        self.serve(kind)

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str, subscription_id: str) -> None:
        confirmed = subscription_validation.confirmation(
            wire.read_json(req, self._limits, required=True))
        self._storage.update_subscription(req.context.owner, queue_name,
                                          subscription_id, confirmed=confirmed)
        resp.status = falcon.HTTP_204
