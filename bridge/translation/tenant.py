"""Owner resolution: the project that OWNS the resource, not the actor.

For a notification described by a :class:`~bridge.translation.rules.Family`:

1. Each ``owner`` JSONPath (under ``$.payload``) is tried in order; the
   first that finds a non-empty value (not null, ``""``, ``[]`` or ``{}``)
   decides. If that path finds several different values (a wildcard over a
   bulk payload), the owner is ambiguous and nothing is routed.
2. Else the ownership index: the owner recorded for the resource from
   earlier events that named it (see :mod:`bridge.translation.ownership`;
   the listener looks it up and passes it in).
3. Else, only if the family allows ``context_fallback``, the request
   context, read with the family's ``context_paths`` (under ``$.ctxt``),
   unless it is an operator's (:func:`operator_context`: an operator
   project by id, ``[translation] operator_projects`` or the rules'
   deny-lists, or by ``project_name``/``tenant_name``; or a context with
   the ``admin`` or ``service`` role): admins and service users act for
   tenants, so their context never names the owner.
4. The value found must look like a project id (:func:`is_project_id`).

Anything else leaves the notification without owner: it is unroutable and
goes to the operator's dead-letter queue with a reason starting "owner
unknown", never to a guessed tenant.
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
    #: ``payload``, ``index`` or ``context``; empty when there is none.
    source: str = ''


def is_project_id(value: Any) -> bool:
    """True for a string that can be a Keystone project id."""
    return (isinstance(value, str) and value not in _NOT_IDS
            and PROJECT_ID_RE.match(value) is not None)


def payload_owner(family: Family, payload: Any) -> Owner | None:
    """The owner the payload names (step 1), or None when it names none."""
    found = _first(family.owner, {'payload': payload})
    return None if found is None else _checked(*found, source='payload')


_NO_OWNERS: Mapping[Any, str] = {}


def resolve_owner(family: Family | None, payload: Any,
                  ctxt: Mapping[str, Any], rules: Rules,
                  owners: Mapping[Any, str] = _NO_OWNERS,
                  key: Any = None) -> Owner:
    """The owning project of a notification (see the module docstring).
    ``owners`` is what the ownership index holds, read (with the event's
    ``key``) only when the payload names no owner."""
    if family is None:
        return Owner(None, 'owner unknown: no event family of the rules '
                     'matches this event')
    found = payload_owner(family, payload)
    if found is not None:
        return found
    indexed = owners.get(key) if key is not None else None
    if indexed is not None:
        if is_project_id(indexed):
            return Owner(indexed, 'ownership index', 'index')
        return Owner(None, 'owner unknown: the ownership index holds a '
                     'value that is not a project id: %s' % _short(indexed))
    tried = ', '.join(p.text for p in family.owner) or 'none'
    unknown = ('owner unknown: the payload names none (owner paths: %s), '
               'the ownership index has no entry' % tried)
    if not family.context_fallback:
        return Owner(None, '%s, and family %r does not fall back to the '
                     'request context' % (unknown, family.name))
    operator = operator_context(ctxt, rules)
    if operator:
        return Owner(None, '%s, and the request context is of an operator '
                     '(%s)' % (unknown, operator))
    found_ctx = _first(family.context_paths, {'ctxt': ctxt})
    if found_ctx is None:
        return Owner(None, '%s, nor the request context' % unknown)
    owner = _checked(*found_ctx, source='context')
    if owner.project_id in rules.context_deny_projects:
        return Owner(None, '%s, and the request context is of operator '
                     'project %s' % (unknown, owner.project_id))
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


def _checked(path: str, values: list[Any], source: str) -> Owner:
    if len(values) > 1:
        return Owner(None, 'ambiguous owner: %s finds %d different values'
                     % (path, len(values)))
    value = values[0]
    if not is_project_id(value):
        return Owner(None, 'the owner found at %s is not a project id: %s'
                     % (path, _short(value)))
    return Owner(value, path, source)


#: Roles that make a request context an operator's: such a context acts
#: for others and never names an owner.
OPERATOR_ROLES = frozenset(('admin', 'service'))


def operator_context(ctxt: Mapping[str, Any], rules: Rules) -> str | None:
    """Why the context is an operator's (its project is an operator
    project by id or name, or it has an operator role), or None."""
    for key in ('project_id', 'tenant_id', 'tenant'):
        value = ctxt.get(key)
        if isinstance(value, str) and value in rules.context_deny_projects:
            return 'operator project %s' % value
    for key in ('project_name', 'tenant_name'):
        value = ctxt.get(key)
        if (isinstance(value, str)
                and value in rules.context_deny_project_names):
            return 'operator project name %r' % value
    roles = ctxt.get('roles')
    if isinstance(roles, str):
        roles = roles.split(',')
    if isinstance(roles, (list, tuple)):
        found = sorted({r.strip().lower() for r in roles
                        if isinstance(r, str)} & OPERATOR_ROLES)
        if found:
            return 'role %s' % ', '.join(found)
    if ctxt.get('is_admin') is True:
        return 'is_admin'
    return None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict, tuple))
                             and not value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'
