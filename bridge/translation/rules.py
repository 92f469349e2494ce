"""The rules file: loading and validation into :class:`Rules`.

The file (YAML, see ``etc/bridge/rules.yaml`` for the commented default)
has five top-level keys, all validated at start-up:

``version``
    Always ``1``.
``tenant``
    ``context_paths`` (JSONPaths under ``$.ctxt``, tried in order when the
    payload names no owner), ``context_deny_projects`` (project ids, e.g.
    the ``service`` and ``admin`` projects, whose request context never
    names an owner) and ``context_deny_project_names`` (the same by
    ``ctxt.project_name`` / ``ctxt.tenant_name``).
``families``
    Ordered list; the first family whose ``match`` matches a notification
    describes it: ``service``, ``owner`` (JSONPaths under ``$.payload``,
    first non-empty wins), ``context_fallback``, ``context_paths``,
    ``resource_id`` (JSONPaths under ``$.payload``), ``allow`` and
    ``free_text`` (allow-list paths, see :mod:`.allowlist`: the payload
    fields a tenant may see; without them, ``redaction.generic_allow``).
``routes``
    Ordered list; the first enabled route whose ``match`` matches decides:
    ``queue`` (a name template, see :data:`TEMPLATE_VARIABLES`) with an
    optional ``ttl``, or ``drop: true``.
``redaction``
    The deny-list still applied inside what the allow-lists keep (see
    :mod:`bridge.translation.redaction`), the marker (``replacement``),
    and optionally ``generic_allow``, ``generic_free_text``,
    ``tenant_address_keys`` and ``host_keys`` (see
    :mod:`bridge.translation.tenantview`; defaults in
    :mod:`bridge.translation.ruleset`).

``match`` (in families and routes) takes ``event_type``, ``exchange``,
``publisher_id`` (globs, a string or a list) and ``priority`` (names); a
notification matches when every condition given matches. A condition on
``exchange`` never matches a notification whose exchange is unknown.

Every error is a :class:`RulesError` whose message names the file, the
rule (``routes[2] (errors)``) and the field.
"""

from __future__ import annotations

import os
import re
import string
from typing import Any, Iterable

import yaml  # type: ignore[import-untyped]

from bridge.translation import allowlist, patterns
from bridge.translation.patterns import GlobSet, JsonPath, PatternError
from bridge.translation.ruleset import (ADDRESS_KEYS, GENERIC_ALLOW,
                                        GENERIC_FREE_TEXT, HOST_KEYS,
                                        PRIORITIES, TEMPLATE_VARIABLES,
                                        Family, Match, Redaction, Route, Rules,
                                        Template, normalize_priority)

_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
_SERVICE_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')
_MAX_TTL = 10 * 365 * 24 * 3600


class RulesError(ValueError):
    """The rules file cannot be used; the message says where and why."""


def default_rules_path() -> str:
    """The default rules shipped inside the package (the same content as
    ``etc/bridge/rules.yaml``)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'default_rules.yaml')


def load_rules(path: str) -> Rules:
    """Read and validate the rules file at ``path``."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as exc:
        raise RulesError('%s: cannot read the rules file: %s'
                         % (path, exc.strerror or exc)) from exc
    try:
        doc = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise RulesError('%s: not valid YAML: %s' % (path, exc)) from exc
    return parse_rules(doc, source=path)


def parse_rules(doc: Any, source: str = '<string>') -> Rules:
    """Validate an already parsed rules document."""
    return _Parser(source).rules(doc)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> RulesError:
        return RulesError('%s: %s: %s' % (self.source, where, problem)
                          if where else '%s: %s' % (self.source, problem))

    # -- generic shapes --------------------------------------------------

    def mapping(self, value: Any, where: str, allowed: Iterable[str],
                required: Iterable[str] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, 'must be a mapping, got %s'
                            % _kind(value))
        allowed = sorted(allowed)
        for key in value:
            if key not in allowed:
                raise self.fail(where, 'unknown key %r (expected one of: %s)'
                                % (key, ', '.join(allowed)))
        for key in required:
            if key not in value:
                raise self.fail(where, 'missing required key %r' % key)
        return value

    def str_list(self, value: Any, where: str, allow_empty: bool = True
                 ) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(where, 'must be a string or a list of strings, '
                            'got %s' % _kind(value))
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.fail('%s[%d]' % (where, i),
                                'must be a non-empty string, got %s'
                                % _kind(item))
        if not value and not allow_empty:
            raise self.fail(where, 'must not be empty')
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, 'must be true or false, got %s'
                            % _kind(value))
        return value

    def paths(self, value: Any, where: str, root: str
              ) -> tuple[JsonPath, ...]:
        compiled = []
        for i, text in enumerate(self.str_list(value, where)):
            at = '%s[%d]' % (where, i)
            try:
                path = JsonPath(text)
            except PatternError as exc:
                raise self.fail(at, str(exc)) from None
            if path.root_field != root:
                raise self.fail(at, 'JSONPath %r must start with $.%s'
                                % (text, root))
            compiled.append(path)
        return tuple(compiled)

    def regex(self, value: Any, where: str, flags: int = 0
              ) -> re.Pattern[str] | None:
        items = self.str_list(value, where)
        for i, item in enumerate(items):
            try:  # alone, as it will be inside the combined pattern
                re.compile('(?:%s)' % item, flags)
            except re.error as exc:
                raise self.fail('%s[%d]' % (where, i),
                                'invalid regular expression %r: %s'
                                % (item, exc)) from None
        if not items:
            return None
        return re.compile('|'.join('(?:%s)' % i for i in items), flags)

    # -- sections --------------------------------------------------------

    def rules(self, doc: Any) -> Rules:
        if doc is None:
            raise self.fail('', 'the rules file is empty')
        doc = self.mapping(doc, 'top level',
                           ('version', 'tenant', 'families', 'routes',
                            'redaction'),
                           ('version', 'tenant', 'families', 'routes',
                            'redaction'))
        if type(doc['version']) is not int or doc['version'] != 1:
            raise self.fail('version', 'unsupported version %r (expected 1)'
                            % (doc['version'],))
        tenant = self.mapping(doc['tenant'], 'tenant',
                              ('context_paths', 'context_deny_projects',
                               'context_deny_project_names'),
                              ('context_paths',))
        context_paths = self.paths(tenant['context_paths'],
                                   'tenant.context_paths', 'ctxt')
        deny = self.str_list(tenant.get('context_deny_projects') or [],
                             'tenant.context_deny_projects')
        deny_names = self.str_list(
            tenant.get('context_deny_project_names') or [],
            'tenant.context_deny_project_names')
        return Rules(
            source=self.source,
            families=self.families(doc['families'], context_paths),
            routes=self.routes(doc['routes']),
            redaction=self.redaction(doc['redaction']),
            context_deny_projects=frozenset(deny),
            context_deny_project_names=frozenset(deny_names))

    def match(self, value: Any, where: str) -> Match:
        value = self.mapping(value, where, ('event_type', 'exchange',
                                            'publisher_id', 'priority'))
        globs: dict[str, GlobSet] = {}
        for key in ('event_type', 'exchange', 'publisher_id'):
            if key in value:
                at = '%s.%s' % (where, key)
                items = self.str_list(value[key], at, allow_empty=False)
                for i, item in enumerate(items):
                    try:
                        patterns.check_glob(item)
                    except PatternError as exc:
                        raise self.fail('%s[%d]' % (at, i), str(exc)) from None
                globs[key] = GlobSet(items)
        priority = None
        if 'priority' in value:
            at = '%s.priority' % where
            names = self.str_list(value['priority'], at, allow_empty=False)
            for i, name in enumerate(names):
                if name.lower() not in PRIORITIES + ('warning',):
                    raise self.fail('%s[%d]' % (at, i),
                                    'unknown priority %r (expected one of: '
                                    '%s)' % (name, ', '.join(PRIORITIES)))
            priority = frozenset(normalize_priority(n) for n in names)
        return Match(priority=priority, **globs)

    def families(self, value: Any, context_paths: tuple[JsonPath, ...]
                 ) -> tuple[Family, ...]:
        if not isinstance(value, list):
            raise self.fail('families', 'must be a list, got %s'
                            % _kind(value))
        result: list[Family] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            where = _label('families[%d]' % i, item)
            item = self.mapping(item, where,
                                ('name', 'match', 'service', 'owner',
                                 'context_fallback', 'context_paths',
                                 'resource_id', 'allow', 'free_text'),
                                ('name', 'owner'))
            name = item['name']
            if not isinstance(name, str) or not name:
                raise self.fail(where + '.name', 'must be a non-empty string')
            if name in seen:
                raise self.fail(where + '.name', 'duplicate family name %r'
                                % name)
            seen.add(name)
            service = item.get('service')
            if service is not None and (not isinstance(service, str)
                                        or not _SERVICE_RE.match(service)):
                raise self.fail(where + '.service',
                                'must match %s, got %r'
                                % (_SERVICE_RE.pattern, service))
            own_context = item.get('context_paths')
            result.append(Family(
                name=name,
                match=self.match(item.get('match', {}), where + '.match'),
                service=service,
                owner=self.paths(item['owner'], where + '.owner', 'payload'),
                context_fallback=self.boolean(
                    item.get('context_fallback', True),
                    where + '.context_fallback'),
                context_paths=(context_paths if own_context is None else
                               self.paths(own_context,
                                          where + '.context_paths', 'ctxt')),
                resource_id=self.paths(item.get('resource_id', []),
                                       where + '.resource_id', 'payload'),
                allow=(self.allow_list(item.get('allow', []),
                                       item.get('free_text', []), where)
                       if 'allow' in item or 'free_text' in item
                       else None)))
        return tuple(result)

    def allow_list(self, allow: Any, free_text: Any, where: str
                   ) -> allowlist.Node:
        lists = {}
        for key, value in (('allow', allow), ('free_text', free_text)):
            lists[key] = self.str_list(value, where + '.' + key)
            for i, text in enumerate(lists[key]):
                try:
                    allowlist.parse_path(text)
                except allowlist.PathError as exc:
                    raise self.fail('%s.%s[%d]' % (where, key, i),
                                    str(exc)) from None
        return allowlist.compile_paths(lists['allow'], lists['free_text'])

    def routes(self, value: Any) -> tuple[Route, ...]:
        if not isinstance(value, list):
            raise self.fail('routes', 'must be a list, got %s' % _kind(value))
        result: list[Route] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            where = _label('routes[%d]' % i, item)
            item = self.mapping(item, where, ('name', 'enabled', 'match',
                                              'queue', 'drop', 'ttl'))
            name = item.get('name', 'routes[%d]' % i)
            if not isinstance(name, str) or not name:
                raise self.fail(where + '.name', 'must be a non-empty string')
            if name in seen:
                raise self.fail(where + '.name', 'duplicate route name %r'
                                % name)
            seen.add(name)
            route = self.route(item, name, where)
            if self.boolean(item.get('enabled', True), where + '.enabled'):
                result.append(route)
        return tuple(result)

    def route(self, item: dict[str, Any], name: str, where: str) -> Route:
        match = self.match(item.get('match', {}), where + '.match')
        drop = self.boolean(item.get('drop', False), where + '.drop')
        if drop == ('queue' in item):
            raise self.fail(where, 'needs exactly one of "queue: TEMPLATE" '
                            'or "drop: true"')
        if drop:
            if 'ttl' in item:
                raise self.fail(where + '.ttl', 'a drop rule takes no ttl')
            return Route(name=name, match=match, queue=None, ttl=None)
        ttl = item.get('ttl')
        if ttl is not None and (not isinstance(ttl, int)
                                or isinstance(ttl, bool)
                                or not 1 <= ttl <= _MAX_TTL):
            raise self.fail(where + '.ttl', 'must be a whole number of '
                            'seconds from 1 to %d, or null for the default; '
                            'got %r' % (_MAX_TTL, ttl))
        return Route(name=name, match=match,
                     queue=self.template(item['queue'], where + '.queue'),
                     ttl=ttl)

    def template(self, text: Any, where: str) -> Template:
        if not isinstance(text, str) or not text:
            raise self.fail(where, 'must be a non-empty string')
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise self.fail(where, 'bad template %r: %s' % (text, exc)) \
                from None
        parts: list[tuple[str, str | None]] = []
        for literal, field, spec, conversion in parsed:
            if field is not None:
                if field not in TEMPLATE_VARIABLES:
                    raise self.fail(where, 'unknown template variable {%s} '
                                    'in %r (known: %s)' % (
                                        field, text,
                                        ', '.join(TEMPLATE_VARIABLES)))
                if spec or conversion:
                    raise self.fail(where, 'template variable {%s} in %r '
                                    'takes no conversion or format spec'
                                    % (field, text))
            parts.append((literal, field))
        return Template(text=text, parts=tuple(parts))

    def redaction(self, value: Any) -> Redaction:
        keys = ('keys', 'key_prefixes', 'secret_key_patterns',
                'value_patterns', 'replacement')
        value = self.mapping(value, 'redaction', keys + (
            'generic_allow', 'generic_free_text', 'tenant_address_keys',
            'host_keys'), keys)
        replacement = value['replacement']
        if not isinstance(replacement, str):
            raise self.fail('redaction.replacement', 'must be a string')
        return Redaction(
            keys=frozenset(k.lower() for k in self.str_list(
                value['keys'], 'redaction.keys')),
            key_prefixes=tuple(p.lower() for p in self.str_list(
                value['key_prefixes'], 'redaction.key_prefixes')),
            secret_keys=self.regex(value['secret_key_patterns'],
                                   'redaction.secret_key_patterns',
                                   re.IGNORECASE),
            values=self.regex(value['value_patterns'],
                              'redaction.value_patterns'),
            replacement=replacement,
            generic=self.allow_list(
                value.get('generic_allow', list(GENERIC_ALLOW)),
                value.get('generic_free_text', list(GENERIC_FREE_TEXT)),
                'redaction.generic'),
            address_keys=frozenset(k.lower() for k in self.str_list(
                value.get('tenant_address_keys', list(ADDRESS_KEYS)),
                'redaction.tenant_address_keys')),
            host_keys=frozenset(k.lower() for k in self.str_list(
                value.get('host_keys', list(HOST_KEYS)),
                'redaction.host_keys')))


def _label(where: str, item: Any) -> str:
    """``where`` with the rule's name, when it has a usable one."""
    name = item.get('name') if isinstance(item, dict) else None
    return '%s (%s)' % (where, name) if isinstance(name, str) and name \
        else where


def _kind(value: Any) -> str:
    if value is None:
        return 'null'
    if isinstance(value, str):
        return 'string %r' % value
    return type(value).__name__
