"""Which resource an event is about, for the ownership index.

Some events name no owner (a Neutron ``network.delete.end`` that carries
only ``{"network_id": ...}``). The owner of such a resource is known only
from earlier events that named both the resource and its owner: the
listener remembers those in the storage's ownership index and hands what it
looked up to :func:`bridge.translation.translate`, which stays pure.

The index key is (resource type, resource id). The type is the family's
service and the event type's resource part, ``<service>:<kind>``:
``network.delete.end`` of family ``neutron`` -> ``neutron:network``,
``compute.instance.create.end`` -> ``nova:compute.instance``. Keying on the
type too means a tenant cannot claim another service's resource by naming
one of its own after it (Glance lets users choose image ids).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from bridge.translation import routing, tenant
from bridge.translation.ruleset import Family, Rules, normalize_priority

#: Event type suffixes that end an action (``volume.create.end``).
_PHASES = frozenset(('start', 'end', 'error', 'begin'))
#: Actions that delete the resource.
_DELETES = frozenset(('delete', 'deleted'))
_TYPE_MAX = 64


class OwnerFact(NamedTuple):
    """What an event tells the ownership index: ``project`` owns the
    resource (``deleted``: and it is gone, from this event on). A named
    tuple: one is made per routed event."""

    resource_type: str
    resource_id: str
    project: str
    deleted: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.resource_type, self.resource_id)


@functools.lru_cache(maxsize=4096)
def _split(event_type: str) -> tuple[str, str, str]:
    """(kind, action, phase): ``network.delete.end`` -> (network, delete,
    end); ``image.update`` -> (image, update, '')."""
    parts = event_type.split('.')
    phase = ''
    if len(parts) > 2 and parts[-1] in _PHASES:
        phase = parts.pop()
    if len(parts) < 2:
        return event_type, '', phase
    return '.'.join(parts[:-1]), parts[-1], phase


def resource_type(family: Family, event_type: str) -> str:
    """``<service>:<kind>`` (see the module docstring)."""
    return _resource_type(family.service or family.name, event_type)


@functools.lru_cache(maxsize=4096)
def _resource_type(service: str, event_type: str) -> str:
    return ('%s:%s' % (service, _split(event_type)[0]))[:_TYPE_MAX]


def is_delete(event_type: str) -> bool:
    """True for the event that says the resource is gone: ``*.delete.end``,
    ``*.delete`` (Glance, Designate), ``*.deleted`` (Keystone)."""
    _, action, phase = _split(event_type)
    return action in _DELETES and phase in ('', 'end')


def key_of(family: Family | None, event_type: str, payload: Any
           ) -> tuple[str, str] | None:
    """The index key of an event, or None when it names no resource."""
    if family is None:
        return None
    resource_id = tenant.resolve_resource_id(family, payload)
    if resource_id is None:
        return None
    return (resource_type(family, event_type), resource_id)


def index_key(n: Any, rules: Rules) -> tuple[str, str] | None:
    """The index key of notification ``n`` under ``rules``; None when it
    has none (or is malformed). Pure; the listener looks the keys of a
    batch up at once before translating it. Never raises."""
    try:
        event_type = n.event_type
        if not isinstance(event_type, str) or not event_type:
            return None
        publisher_id = n.publisher_id if isinstance(n.publisher_id, str) \
            else ''
        priority = normalize_priority(n.priority if isinstance(
            n.priority, str) else '')
        exchange = n.exchange if isinstance(n.exchange, str) and n.exchange \
            else None
        family = routing.find_family(rules, event_type, exchange,
                                     publisher_id, priority)
        return key_of(family, event_type, n.payload)
    except Exception:  # noqa: BLE001 - translate() reports such events
        return None
