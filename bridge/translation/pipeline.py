"""The pipeline behind ``translate``: one notification in, one decision out.

Steps, each a pure function of the notification and the rules:

1. Check the envelope (``event_type`` must be a non-empty string; other
   fields of the wrong type are read as empty).
2. Route (:mod:`~bridge.translation.routing`): a ``drop`` rule gives
   :class:`Dropped`; no matching route gives :class:`Unroutable`.
3. Find the owner (:mod:`~bridge.translation.tenant`): from the payload,
   else from ``owners`` (what the ownership index holds for the event's
   resource, looked up by the caller), else from a non-operator request
   context; none gives :class:`Unroutable` ("owner unknown").
4. Keep what the family's allow-list allows of the payload, scrubbed, and
   build the versioned body (:mod:`~bridge.translation.redaction`,
   :mod:`~bridge.translation.body`): :class:`Routed`, deduplicated by the
   notification's ``message_id``, with the fact the ownership index should
   record (:class:`~bridge.translation.ownership.OwnerFact`).

:func:`translate` never raises: an unexpected error becomes
:class:`Unroutable` with the error as reason, so one odd notification can
neither crash nor wedge the listener, and it is never delivered to a
tenant half-translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.translation import body, ownership, routing, tenant
from bridge.translation.model import (Dropped, Notification, Routed,
                                      Unroutable, original_body)
from bridge.translation.tenantview import TenantView
from bridge.translation.ruleset import Rules, memoized, normalize_priority

#: The ownership index's answers: (resource type, resource id) -> project.
Owners = Mapping[tuple[str, str], str]

_NO_OWNERS: Owners = {}


def translate(n: Notification, rules: Rules, owners: Owners = _NO_OWNERS
              ) -> Routed | Dropped | Unroutable:
    """Decide what happens to ``n`` (see the module docstring). ``owners``
    holds what the ownership index knows of resources ((type, id) ->
    project); it is read only for an event whose payload names no owner
    (see :func:`bridge.translation.ownership.index_key`)."""
    try:
        return _translate(n, rules, owners)
    except Exception as exc:  # noqa: BLE001 - documented: never raises
        return Unroutable(reason='translation failed: %s: %s'
                          % (type(exc).__name__, _short(str(exc))),
                          body=original_body(n))


def _translate(n: Notification, rules: Rules, owners: Owners
               ) -> Routed | Dropped | Unroutable:
    event_type = getattr(n, 'event_type', None)
    if not isinstance(event_type, str) or not event_type:
        return _unroutable(n, 'malformed notification: event_type is not '
                              'a non-empty string')
    publisher_id = _text(getattr(n, 'publisher_id', None))
    priority = normalize_priority(_text(getattr(n, 'priority', None)))
    exchange = getattr(n, 'exchange', None)
    if not isinstance(exchange, str) or not exchange:
        exchange = None
    ctxt = getattr(n, 'ctxt', None)
    if type(ctxt) is not dict and not isinstance(ctxt, Mapping):
        ctxt = {}
    payload = getattr(n, 'payload', None)

    route = routing.find_route(rules, event_type, exchange, publisher_id,
                               priority)
    if route is None:
        return _unroutable(n, 'no routing rule matches event_type %r'
                           % event_type)
    if route.queue is None:
        return Dropped(rule=route.name)

    family = routing.find_family(rules, event_type, exchange, publisher_id,
                                 priority)
    resource_id = tenant.resolve_resource_id(family, payload)
    key = (ownership.resource_type(family, event_type), resource_id) \
        if family is not None and resource_id is not None else None
    owner = tenant.resolve_owner(family, payload, ctxt, rules, owners, key)
    if owner.project_id is None:
        return _unroutable(n, owner.reason)

    message_id = getattr(n, 'message_id', None)
    if not isinstance(message_id, str) or not message_id:
        return _unroutable(n, 'malformed notification: message_id is not a '
                              'non-empty string')
    service = body.service_name(family.service if family else None,
                                exchange, publisher_id)
    queue = routing.queue_name(route, service=service, exchange=exchange,
                               event_type=event_type, priority=priority,
                               publisher_id=publisher_id)
    if not queue:
        return _unroutable(n, 'route %r gives an empty queue name'
                           % route.name)
    view = memoized(rules, ('tenant-view',),
                    lambda: TenantView(rules.redaction))
    allow = family.allow if family is not None and family.allow is not None \
        else rules.redaction.generic
    fact = None
    if key is not None and owner.source in ('payload', 'index'):
        fact = ownership.OwnerFact(key[0], key[1], owner.project_id,
                                   ownership.is_delete(event_type))
    return Routed(
        project_id=owner.project_id,
        queue=queue,
        ttl=route.ttl,
        body=body.build_body(
            message_id=message_id, event_type=event_type,
            timestamp=getattr(n, 'timestamp', None), service=service,
            priority=priority, project_id=owner.project_id,
            resource_id=resource_id,
            ctxt=ctxt, payload=view(payload, allow, publisher_id)),
        dedup_key=message_id, ownership=fact,
        owner_from=owner.source)


def _unroutable(n: Any, reason: str) -> Unroutable:
    return Unroutable(reason=reason, body=original_body(n))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ''


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + '...'
