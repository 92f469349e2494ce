"""The tenant message body, version 1: what tenants can rely on.

Every message bridge stores in a tenant queue has this body::

    {
      "version": 1,
      "id": "0ab4b1c6-3f5e-4d52-9d87-3c7e0f0b8a11",
      "event_type": "instance.create.end",
      "timestamp": "2012-10-29T13:42:11.612811Z",
      "service": "nova",
      "priority": "info",
      "project_id": "6f70656e737461636b20342065766572",
      "resource_id": "178b0921-8f85-4257-88b6-2e743b5a975c",
      "request_id": "req-5b6c791d-5709-4f36-8fbe-c3e02869e35d",
      "payload": {"nova_object.data": {"...": "..."}, "...": "..."}
    }

``version``
    ``1``. Fields may be added within a version; none is removed or
    changes meaning without a new version number.
``id``
    The notification's oslo.messaging ``message_id``: the same event
    delivered twice on the bus has the same id (and is stored once).
``event_type``
    As the service sent it.
``timestamp``
    When the service emitted it: ISO 8601, UTC, microseconds, ``Z``
    suffix. ``null`` if the bus timestamp could not be read.
``service``
    Who sent it, as a service name (``nova``, ``cinder``, ``neutron``,
    ``glance``, ``heat``, ``keystone``, ``designate``, ``trove``, ...):
    the matching event family's ``service`` in the rules; else the
    exchange (unless it is the generic ``openstack``); else derived from
    the ``publisher_id`` (``compute.host1`` -> ``nova``,
    ``nova-compute:host1`` -> ``nova``, ``volume.host1`` -> ``cinder``, see
    :data:`PUBLISHER_SERVICES`); else ``unknown``. The publisher's host is
    never included.
``priority``
    ``info``, ``warn``, ``error``, ``critical``, ``audit``, ``debug``.
``project_id``
    The project that owns the resource (the queue's project).
``resource_id``
    Best effort id of the resource the event is about (server, volume,
    port, image, stack, zone...), from the family's ``resource_id``
    paths; ``null`` when unknown.
``request_id``
    The ``request_id`` of the request context (``req-...``), ``null`` if
    absent. Nothing else of the request context is ever included.
``payload``
    The service's payload, redacted (see
    :mod:`bridge.translation.redaction`): operator-only keys removed, the
    rest as the service sent it.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Mapping

BODY_VERSION = 1

#: Exchanges that do not name a service (oslo.messaging's default
#: ``control_exchange``).
GENERIC_EXCHANGES = frozenset(('openstack', ''))

#: ``publisher_id`` service parts (without host) of legacy notifications.
PUBLISHER_SERVICES = {
    'compute': 'nova', 'conductor': 'nova', 'scheduler': 'nova',
    'volume': 'cinder', 'snapshot': 'cinder', 'backup': 'cinder',
    'network': 'neutron', 'image': 'glance', 'orchestration': 'heat',
    'identity': 'keystone', 'central': 'designate', 'pool_manager':
    'designate', 'taskmanager': 'trove', 'octavia': 'octavia',
    'magnum': 'magnum', 'trove': 'trove',
}

#: Services whose binaries are named ``<service>-<role>`` (``nova-api``).
KNOWN_SERVICES = frozenset((
    'nova', 'cinder', 'neutron', 'glance', 'heat', 'keystone', 'designate',
    'trove', 'octavia', 'magnum', 'manila', 'ironic', 'barbican', 'aodh',
    'zun', 'senlin', 'watcher', 'masakari', 'mistral', 'placement')
)

_NAME_RE = re.compile(r'[^a-z0-9_-]+')


def publisher_service_part(publisher_id: str) -> str:
    """``publisher_id`` without its host: ``nova-compute:host1`` ->
    ``nova-compute``, ``compute.host1`` -> ``compute``."""
    if ':' in publisher_id:
        return publisher_id.split(':', 1)[0]
    return publisher_id.split('.', 1)[0]


def service_name(family_service: str | None, exchange: str | None,
                 publisher_id: str) -> str:
    """The ``service`` of the body (see the module docstring)."""
    if family_service:
        return family_service
    if exchange:
        name = _NAME_RE.sub('-', exchange.lower()).strip('-')
        if name not in GENERIC_EXCHANGES:
            return name
    part = publisher_service_part(publisher_id).lower()
    if part in PUBLISHER_SERVICES:
        return PUBLISHER_SERVICES[part]
    prefix = part.split('-', 1)[0]
    if prefix in KNOWN_SERVICES:
        return prefix
    return _NAME_RE.sub('-', part).strip('-')[:32] or 'unknown'


def iso_timestamp(timestamp: Any) -> str | None:
    """The bus timestamp as ISO 8601 UTC (``...T...Z``); naive times are
    UTC (oslo.messaging uses ``utcnow()``). None when it cannot be read."""
    if not isinstance(timestamp, str) or not timestamp:
        return None
    text = timestamp.strip()
    if text.endswith(('Z', 'z')):
        text = text[:-1] + '+00:00'
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when.isoformat(timespec='microseconds') + 'Z'


def request_id(ctxt: Mapping[str, Any]) -> str | None:
    """The context's ``request_id`` when it is a string."""
    value = ctxt.get('request_id')
    return value if isinstance(value, str) and value else None


def build_body(*, message_id: str, event_type: str, timestamp: Any,
               service: str, priority: str, project_id: str,
               resource_id: str | None, ctxt: Mapping[str, Any],
               payload: Any) -> dict[str, Any]:
    """The version 1 body; ``payload`` must already be redacted."""
    return {
        'version': BODY_VERSION,
        'id': message_id,
        'event_type': event_type,
        'timestamp': iso_timestamp(timestamp),
        'service': service,
        'priority': priority,
        'project_id': project_id,
        'resource_id': resource_id,
        'request_id': request_id(ctxt),
        'payload': payload,
    }
