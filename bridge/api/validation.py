"""Input validation: pure functions that raise one :class:`ValidationError`.

Every function takes the raw value a client sent and returns it parsed and
checked, or raises ``ValidationError`` with a description fit for the client
(the API answers 400). Limits come from :class:`Limits`, built once from the
``[limits]`` options; no limit is a literal here. The only constants are the
formats Zaqar v2 fixes: queue names, project id length, Client-ID as a UUID.

This module holds the identifiers, query parameters and the queue, message
and claim bodies, and the helpers the others share; subscription bodies are
checked in :mod:`bridge.api.subscription_validation`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import uuid
from typing import Any, Iterable, Sequence

from oslo_config import cfg

from bridge.storage.models import NewMessage

QUEUE_NAME_RE = re.compile(r'^[a-zA-Z0-9_\-.]{1,64}$')
#: Names that clients normalise away as path segments ("/v2/queues/.."
#: is "/v2"): such a queue could never be reached again.
_DOT_SEGMENTS = frozenset(('.', '..'))
#: C0 and C1 control characters and DEL: in no identifier, path segment or
#: query value (NUL breaks PostgreSQL; a newline forges log lines).
CONTROL_CHARACTERS_RE = re.compile('[\x00-\x1f\x7f-\x9f]')
PROJECT_ID_MAX_LEN = 256
_INT_RE = re.compile(r'^-?[0-9]{1,18}$')
# Claim ids as bridge hands them out: a UUID (SQL) or 24 hex digits
# (MongoDB ObjectId).
CLAIM_ID_RE = re.compile(r'^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                         r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{24})$')
_TRUE = frozenset(('true', 'True', 'TRUE', '1', 'yes', 'on', 't', 'y', ''))
_FALSE = frozenset(('false', 'False', 'FALSE', '0', 'no', 'off', 'f', 'n'))
_ESCAPED_SURROGATE_RE = re.compile(r'\\u[dD][89a-fA-F]')
_INT64_MIN, _INT64_MAX = -2 ** 63, 2 ** 63 - 1


class ValidationError(ValueError):
    """The client's input breaks an API rule; the message says which."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """The ``[limits]`` options, read once (attribute access on a frozen
    dataclass is much cheaper than on ``cfg.ConfigOpts`` per request)."""

    max_queues_per_page: int
    default_queues_per_page: int
    max_messages_per_page: int
    default_messages_per_page: int
    max_messages_per_claim_or_pop: int
    default_messages_per_claim: int
    max_queue_metadata: int
    max_messages_post_size: int
    min_message_ttl: int
    max_message_ttl: int
    default_message_ttl: int
    max_message_delay: int
    default_message_delay: int
    min_claim_ttl: int
    max_claim_ttl: int
    default_claim_ttl: int
    min_claim_grace: int
    max_claim_grace: int
    default_claim_grace: int
    max_request_body: int
    max_json_depth: int
    max_wait: int

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Limits:
        group = conf.limits
        return cls(**{f.name: getattr(group, f.name)
                      for f in dataclasses.fields(cls)})


# -- identifiers -------------------------------------------------------------

def queue_name(name: str, noun: str = 'queue') -> str:
    """A queue (or topic: same rules) name."""
    if not QUEUE_NAME_RE.fullmatch(name):
        raise ValidationError(
            '%s names are 1 to 64 characters long and may only contain '
            'ASCII letters, digits, underscores, dashes and dots.'
            % noun.capitalize())
    if name in _DOT_SEGMENTS:
        raise ValidationError('"%s" is not a %s name: clients remove it '
                              'from paths.' % (name, noun))
    return name


def no_control_characters(value: str, where: str) -> str:
    """``value`` unless it holds a control character (``where`` names it
    for the client: "the path", "the query parameter \"marker\"")."""
    if CONTROL_CHARACTERS_RE.search(value):
        raise ValidationError('Control characters are not allowed in %s.'
                              % where)
    return value


def project_id(value: str | None) -> str:
    if not value:
        raise ValidationError('The header X-Project-ID is missing or empty.')
    if len(value) > PROJECT_ID_MAX_LEN:
        raise ValidationError('Project ids may not be more than %d '
                              'characters long.' % PROJECT_ID_MAX_LEN)
    return no_control_characters(value, 'the project id')


@functools.lru_cache(maxsize=4096)
def _canonical_uuid(value: str) -> str:
    return str(uuid.UUID(value))


def client_id(value: str | None) -> str:
    """Return the Client-ID header as a canonical UUID string (so the
    dashed and undashed forms of one UUID are the same client)."""
    if not value:
        raise ValidationError('The header Client-ID is missing.')
    try:
        return _canonical_uuid(value)
    except ValueError:
        raise ValidationError('The header Client-ID must be a UUID.') from None


def claim_id(value: str) -> str:
    """A claim id that could have been issued (Zaqar answers 400 for a
    malformed one, 403 for one that does not hold the message)."""
    if not CLAIM_ID_RE.match(value):
        raise ValidationError('Malformed claim id %r: claim ids are UUIDs or '
                              '24 hexadecimal digits.' % value[:64])
    return value


# -- query parameters ----------------------------------------------------------

def int_param(raw: str | None, name: str, default: int, low: int,
              high: int) -> int:
    """An integer query parameter between ``low`` and ``high``."""
    if raw is None:
        return default
    if not _INT_RE.match(raw) or not low <= int(raw) <= high:
        raise ValidationError('The "%s" parameter must be an integer from '
                              '%d to %d.' % (name, low, high))
    return int(raw)


def bool_param(raw: str | None, name: str, default: bool = False) -> bool:
    if raw is None:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValidationError('The "%s" parameter must be true or false.' % name)


def id_list(values: Sequence[str] | None, name: str,
            maximum: int) -> list[str]:
    """Ids given comma-separated (the comma may be percent-encoded, as
    python-zaqarclient sends it) and/or as repeated parameters: at least
    one, at most ``maximum``."""
    ids = [i.strip() for v in values or () for i in v.split(',')
           if i.strip()]
    if not 0 < len(ids) <= maximum:
        raise ValidationError('The "%s" parameter must list from 1 to %d '
                              'ids.' % (name, maximum))
    return ids


# -- request bodies ------------------------------------------------------------

def _int64(text: str) -> int:
    value = int(text)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError('integer out of range')
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError('number out of range')
    return value


def _reject_constant(text: str) -> Any:
    raise ValueError('%s is not JSON' % text)


def _depth(document: Any) -> int:
    deepest = 0
    stack = [(document, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def parse_json(raw: bytes, max_depth: int) -> Any:
    """Parse a request body. Refuses what storage could not keep faithfully:
    NaN/Infinity, integers beyond 64 bits, lone surrogates, nesting deeper
    than ``max_depth``."""
    try:
        text = raw.decode('utf-8')
        document = json.loads(text, parse_int=_int64,
                              parse_float=_finite_float,
                              parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ValidationError('Request body could not be parsed as JSON '
                              '(or holds numbers out of range).') from None
    if text.count('[') + text.count('{') > max_depth:
        if _depth(document) > max_depth:
            raise ValidationError('Request body is nested deeper than %d '
                                  'levels.' % max_depth)
    if _ESCAPED_SURROGATE_RE.search(text):
        try:
            json.dumps(document, ensure_ascii=False).encode('utf-8')
        except UnicodeEncodeError:
            raise ValidationError('Request body holds an unpaired UTF-16 '
                                  'surrogate.') from None
    return document


def is_int(value: Any) -> bool:
    """An integer that is not a bool (JSON ``true`` is not ``1``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def int_field(value: Any, name: str, low: int, high: int) -> int:
    """The body field ``name``: an integer from ``low`` to ``high``."""
    if not is_int(value) or not low <= value <= high:
        raise ValidationError('"%s" must be an integer from %d to %d.'
                              % (name, low, high))
    return value


def post_size(length: int, queue_meta: dict[str, Any],
              limits: Limits) -> None:
    """A message post body may not exceed the queue's
    ``_max_messages_post_size`` nor the ``max_messages_post_size`` option."""
    maximum = limits.max_messages_post_size
    queue_max = queue_meta.get('_max_messages_post_size')
    if isinstance(queue_max, int) and not isinstance(queue_max, bool) \
            and 0 < queue_max < maximum:
        maximum = queue_max
    if length > maximum:
        raise ValidationError('Message collection size is too large; the '
                              'maximum for this queue is %d bytes.' % maximum)


def _queue_default(queue_meta: dict[str, Any], key: str, fallback: int,
                   low: int, high: int) -> int:
    value = queue_meta.get(key)
    if isinstance(value, int) and not isinstance(value, bool) \
            and low <= value <= high:
        return value
    return fallback


def new_messages(document: Any, queue_meta: dict[str, Any],
                 limits: Limits) -> list[NewMessage]:
    """``{"messages": [{"body": ..., "ttl": N, "delay": N}, ...]}`` with
    ttl and delay defaulting to the queue's reserved metadata, then to the
    options."""
    if not isinstance(document, dict) or 'messages' not in document:
        raise ValidationError('No messages were found in the request body.')
    items = document['messages']
    if not isinstance(items, list) or not items:
        raise ValidationError('"messages" must be a non-empty array.')
    ttl_range = (limits.min_message_ttl, limits.max_message_ttl)
    delay_range = (0, limits.max_message_delay)
    default_ttl = _queue_default(queue_meta, '_default_message_ttl',
                                 limits.default_message_ttl, *ttl_range)
    default_delay = _queue_default(queue_meta, '_default_message_delay',
                                   limits.default_message_delay, *delay_range)
    messages = []
    for item in items:
        if not isinstance(item, dict) or 'body' not in item:
            raise ValidationError('Each message must be an object with a '
                                  '"body".')
        ttl = item.get('ttl', default_ttl)
        delay = item.get('delay', default_delay)
        messages.append(NewMessage(
            body=item['body'],
            ttl=int_field(ttl, 'ttl', *ttl_range),
            delay=int_field(delay, 'delay', *delay_range)))
    return messages


def claim_params(document: Any, limits: Limits) -> tuple[int, int]:
    """``{"ttl": N, "grace": N}`` (either may be missing or null: the
    default applies) -> (ttl, grace). ``None`` (no body) means defaults."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ValidationError('The claim document must be a JSON object.')
    ttl = document.get('ttl')
    grace = document.get('grace')
    if ttl is None:
        ttl = limits.default_claim_ttl
    if grace is None:
        grace = limits.default_claim_grace
    return (int_field(ttl, 'ttl', limits.min_claim_ttl, limits.max_claim_ttl),
            int_field(grace, 'grace', limits.min_claim_grace,
                       limits.max_claim_grace))


def queue_metadata(document: Any, limits: Limits) -> dict[str, Any]:
    """Queue metadata: a JSON object whose reserved keys hold valid values
    (null leaves a reserved key unset)."""
    if not isinstance(document, dict):
        raise ValidationError('Queue metadata must be a JSON object.')
    checks = {
        '_default_message_ttl': (limits.min_message_ttl,
                                 limits.max_message_ttl),
        '_dead_letter_queue_messages_ttl': (limits.min_message_ttl,
                                            limits.max_message_ttl),
        '_max_messages_post_size': (1, limits.max_messages_post_size),
        '_default_message_delay': (0, limits.max_message_delay),
        '_max_claim_count': (1, _INT64_MAX),
    }
    for key, (low, high) in checks.items():
        if document.get(key) is not None:
            int_field(document[key], key, low, high)
    encrypt = document.get('_enable_encrypt_messages')
    if encrypt is not None and not isinstance(encrypt, bool):
        raise ValidationError('"_enable_encrypt_messages" must be true or '
                              'false.')
    flavor = document.get('_flavor')
    if flavor is not None and not isinstance(flavor, str):
        raise ValidationError('"_flavor" must be a flavor name.')
    dead_letter = document.get('_dead_letter_queue')
    if dead_letter is not None and not (
            isinstance(dead_letter, str) and QUEUE_NAME_RE.match(dead_letter)):
        raise ValidationError('"_dead_letter_queue" must be a queue name.')
    return document
