"""Owner resolution: the project that OWNS the resource, not the actor.

For a notification described by a :class:`~bridge.translation.rules.Family`:

1. Each ``owner`` JSONPath (under ``$.payload``) is tried in order; the
   first that finds a non-empty value (not null, ``""``, ``[]`` or ``{}``)
   decides. If that path finds several different values (a wildcard over a
   bulk payload), the owner is ambiguous and nothing is routed.
2. Only when no owner path finds anything, and the family allows
   ``context_fallback``, the request context is read with the family's
   ``context_paths`` (under ``$.ctxt``), unless the context belongs to a
   deny-listed project (by id, or by ``project_name``/``tenant_name``):
   service users and admins act for tenants, so their context never names
   the owner.
3. The value found must look like a project id (:func:`is_project_id`).

Anything else leaves the notification without owner: it is unroutable and
goes to the operator's dead-letter queue, never to a guessed tenant.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable, Mapping

from bridge.translation.patterns import JsonPath
from bridge.translation.ruleset import Family, Rules

#: What a project id may look like: 1 to 64 characters out of letters,
#: digits and ``_ - . : @`` (Keystone ids are 32 hex digits; test clouds
#: use names like ``fake``).
PROJECT_ID_RE = re.compile(r'^[A-Za-z0-9_.:@-]{1,64}$')
_NOT_IDS = frozenset(('None', 'none', 'null', 'NULL'))


@dataclasses.dataclass(frozen=True)
class Owner:
    """The outcome: ``project_id``, or None and ``reason`` says why."""

    project_id: str | None
    #: Where the owner came from (a JSONPath), or why there is none.
    reason: str


def is_project_id(value: Any) -> bool:
    """True for a string that can be a Keystone project id."""
    return (isinstance(value, str) and value not in _NOT_IDS
            and PROJECT_ID_RE.match(value) is not None)


def resolve_owner(family: Family | None, payload: Any,
                  ctxt: Mapping[str, Any], rules: Rules) -> Owner:
    """The owning project of a notification (see the module docstring)."""
    if family is None:
        return Owner(None, 'no event family of the rules matches this event')
    found = _first(family.owner, {'payload': payload})
    if found is not None:
        return _checked(*found)
    tried = ', '.join(p.text for p in family.owner) or 'none'
    if not family.context_fallback:
        return Owner(None, 'the payload names no owner (owner paths: %s) and '
                     'family %r does not fall back to the request context'
                     % (tried, family.name))
    denied = _denied_context(ctxt, rules)
    if denied:
        return Owner(None, 'the payload names no owner (owner paths: %s) and '
                     'the request context is of deny-listed project %s'
                     % (tried, denied))
    found = _first(family.context_paths, {'ctxt': ctxt})
    if found is None:
        return Owner(None, 'no owner in the payload (owner paths: %s) nor in '
                     'the request context' % tried)
    owner = _checked(*found)
    if owner.project_id in rules.context_deny_projects:
        return Owner(None, 'the payload names no owner and the request '
                     'context is of deny-listed project %s'
                     % owner.project_id)
    return owner


def resolve_resource_id(family: Family | None, payload: Any) -> str | None:
    """Best effort: the first ``resource_id`` path value that is a string
    or an integer, as a string; None otherwise."""
    if family is None:
        return None
    doc = {'payload': payload}
    for path in family.resource_id:
        for value in path.values(doc):
            if isinstance(value, bool) or _empty(value):
                continue
            if isinstance(value, (str, int)):
                return str(value)[:255]
            return None
    return None


def _first(paths: Iterable[JsonPath], doc: dict[str, Any]
           ) -> tuple[str, list[Any]] | None:
    """(path text, distinct non-empty values) of the first path that
    finds a non-empty value."""
    for path in paths:
        distinct: list[Any] = []
        for value in path.values(doc):
            if not _empty(value) and value not in distinct:
                distinct.append(value)
        if distinct:
            return path.text, distinct
    return None


def _checked(path: str, values: list[Any]) -> Owner:
    if len(values) > 1:
        return Owner(None, 'ambiguous owner: %s finds %d different values'
                     % (path, len(values)))
    value = values[0]
    if not is_project_id(value):
        return Owner(None, 'the owner found at %s is not a project id: %s'
                     % (path, _short(value)))
    return Owner(value, path)


def _denied_context(ctxt: Mapping[str, Any], rules: Rules) -> str | None:
    for key in ('project_id', 'tenant_id', 'tenant'):
        value = ctxt.get(key)
        if isinstance(value, str) and value in rules.context_deny_projects:
            return value
    for key in ('project_name', 'tenant_name'):
        value = ctxt.get(key)
        if (isinstance(value, str)
                and value in rules.context_deny_project_names):
            return 'name %r' % value
    return None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict, tuple))
                             and not value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'
