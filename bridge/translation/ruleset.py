"""The parsed rules: immutable objects that translation reads.

:mod:`bridge.translation.rules` builds them from the rules file and
validates everything on the way, so code reading a :class:`Rules` may
trust every field.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable, Mapping

from bridge.translation.allowlist import Node
from bridge.translation.patterns import GlobSet, JsonPath

#: Variables a queue template may use, with their meaning.
TEMPLATE_VARIABLES = {
    'service': 'the service that sent the event: nova, cinder, ... '
               '(see bridge.translation.body)',
    'exchange': 'the bus exchange when known, else the service',
    'event_type': 'the event type, e.g. instance.create.end',
    'priority': 'info, warn, error, critical, audit, debug or sample',
    'publisher': "publisher_id without its host part, e.g. 'nova-compute'",
}

#: Priority names oslo.messaging uses (``warning`` is read as ``warn``).
PRIORITIES = ('audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample')


@dataclasses.dataclass(frozen=True)
class Match:
    """Conditions of a family or route; ``None`` means "any"."""

    event_type: GlobSet | None = None
    exchange: GlobSet | None = None
    publisher_id: GlobSet | None = None
    priority: frozenset[str] | None = None

    def matches(self, event_type: str, exchange: str | None,
                publisher_id: str, priority: str) -> bool:
        return ((self.event_type is None or self.event_type.match(event_type))
                and (self.exchange is None or self.exchange.match(exchange))
                and (self.publisher_id is None
                     or self.publisher_id.match(publisher_id))
                and (self.priority is None or priority in self.priority))


@dataclasses.dataclass(frozen=True)
class Family:
    """How to read one family of events: who owns it, which resource."""

    name: str
    match: Match
    service: str | None
    owner: tuple[JsonPath, ...]
    context_fallback: bool
    context_paths: tuple[JsonPath, ...]
    resource_id: tuple[JsonPath, ...]
    #: The payload fields a tenant may see (None: the generic list of
    #: :class:`Redaction`).
    allow: Node | None = None


@dataclasses.dataclass(frozen=True)
class Template:
    """A queue name template, split into literal text and variables."""

    text: str
    parts: tuple[tuple[str, str | None], ...]

    def render(self, variables: Mapping[str, str]) -> str:
        return ''.join(literal + (variables[field] if field else '')
                       for literal, field in self.parts)


@dataclasses.dataclass(frozen=True)
class Route:
    """A routing rule: a queue template (with a ttl) or a drop."""

    name: str
    match: Match
    queue: Template | None  # None: drop
    ttl: int | None


@dataclasses.dataclass(frozen=True)
class Redaction:
    """What redaction removes (see :mod:`bridge.translation.redaction`)."""

    keys: frozenset[str]
    key_prefixes: tuple[str, ...]
    secret_keys: re.Pattern[str] | None
    values: re.Pattern[str] | None
    replacement: str
    #: What a family without an allow-list shows (see GENERIC_ALLOW).
    generic: Node = dataclasses.field(default_factory=Node)
    #: Keys whose IP addresses are the tenant's own (not scrubbed).
    address_keys: frozenset[str] = frozenset()
    #: Keys whose values name hosts (scrubbed from free text).
    host_keys: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Rules:
    """Parsed, validated rules. Immutable: derive variants with
    :meth:`with_denied_projects`."""

    source: str
    families: tuple[Family, ...]
    routes: tuple[Route, ...]
    redaction: Redaction
    context_deny_projects: frozenset[str]
    context_deny_project_names: frozenset[str]
    #: Memo of family/route lookups; internal, never part of equality.
    _memo: dict = dataclasses.field(default_factory=dict, compare=False,
                                    repr=False)

    def with_denied_projects(self, project_ids: Iterable[str]) -> 'Rules':
        """These rules with more project ids on the context deny-list (e.g.
        the service and admin project ids from the service's config)."""
        extra = frozenset(p for p in project_ids if p)
        return dataclasses.replace(
            self, context_deny_projects=self.context_deny_projects | extra,
            _memo={})


#: The allow-list of families without one of their own (the rules file's
#: ``redaction.generic_allow`` replaces it): ids, names the tenant chose,
#: status and state, sizes and timestamps, at the top of the payload and
#: one object down (``{"loadbalancer": {...}}``). Never the whole payload.
GENERIC_ALLOW = tuple(
    prefix + key
    for prefix in ('', '*.')
    for key in ('id', '*_id', 'name', 'display_name', 'status', 'state',
                'operating_status', 'provisioning_status', 'size', '*_size',
                '*_gb', '*_mb', 'vcpus', 'created_at', 'updated_at',
                'deleted_at', 'launched_at', 'terminated_at', 'timestamp',
                'tags'))
#: Free-text fields of families without an allow-list (scrubbed).
GENERIC_FREE_TEXT = ('description', 'status_reason', '*.description',
                     '*.status_reason')
#: Keys whose values are the tenant's own IP addresses.
ADDRESS_KEYS = ('ip_address', 'fixed_ip_address', 'floating_ip_address',
                'address', 'addr', 'gateway_ip', 'vip_address',
                'access_ip_v4', 'access_ip_v6')
#: Keys whose values name hosts of the cloud.
HOST_KEYS = ('host', 'hosts', 'node', 'nodename', 'hypervisor_hostname',
             'launched_on', 'binding:host_id', 'attached_host',
             'service_host', 'compute_host', 'cluster_name')


def normalize_priority(priority: str) -> str:
    """Lower case, with ``warning`` read as ``warn``."""
    priority = priority.lower()
    return 'warn' if priority == 'warning' else priority


_MEMO_MAX = 8192


def memoized(rules: Rules, key: tuple, compute: Any) -> Any:
    """``compute()``, remembered in ``rules`` under ``key`` (bounded; safe
    between threads: a race only computes a value twice)."""
    memo = rules._memo
    try:
        return memo[key]
    except KeyError:
        pass
    value = compute()
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[key] = value
    return value
