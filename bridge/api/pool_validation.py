"""Validation of the pools and flavors admin API (Zaqar's v2 schemas):
names, pool documents for PUT and PATCH, flavor documents. Pure
functions raising :class:`~bridge.api.validation.ValidationError`."""

from __future__ import annotations

import re
from typing import Any

from bridge.api.validation import (ValidationError, bool_param, int_param,
                                   is_int)

NAME_RE = re.compile(r'^[a-zA-Z0-9_-]{1,64}$')
URI_MAX_LEN = 255
FLAVOR_MAX_LEN = 255
WEIGHT_MAX = 2 ** 32 - 1
POOL_FIELDS = ('weight', 'uri', 'flavor', 'options')


def listing(limit: str | None, detailed: str | None,
            max_per_page: int) -> tuple[int, bool]:
    """``limit`` (default 10, at most ``max_per_page``) and ``detailed`` of
    a pools or flavors listing."""
    return (int_param(limit, 'limit', 10, 1, max_per_page),
            bool_param(detailed, 'detailed'))


def name(value: str, what: str) -> str:
    if not NAME_RE.match(value):
        raise ValidationError('%s names are 1 to 64 characters long and may '
                              'only contain ASCII letters, digits, '
                              'underscores and dashes.' % what)
    return value


def _object(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ValidationError('The request body must be a JSON object.')
    return document


def _pool_field(key: str, value: Any) -> Any:
    if key == 'weight':
        if not is_int(value) or not 0 <= value <= WEIGHT_MAX:
            raise ValidationError('"weight" must be an integer from 0 to '
                                  '%d.' % WEIGHT_MAX)
        return value
    if key == 'uri':
        if not isinstance(value, str) or not 0 < len(value) <= URI_MAX_LEN \
                or ':' not in value:
            raise ValidationError('"uri" must be a storage URL of at most '
                                  '%d characters.' % URI_MAX_LEN)
        return value
    if key == 'flavor':
        if value is None or value == '':
            return None
        if not isinstance(value, str) or len(value) > FLAVOR_MAX_LEN:
            raise ValidationError('"flavor" must be a flavor name.')
        return value
    if not isinstance(value, dict):
        raise ValidationError('"options" must be a JSON object.')
    return value


def new_pool(document: Any) -> dict[str, Any]:
    """A PUT body: ``uri`` and ``weight`` required, ``flavor`` and
    ``options`` optional, nothing else."""
    document = _object(document)
    unknown = sorted(set(document) - set(POOL_FIELDS))
    if unknown:
        raise ValidationError('Unknown pool field "%s".' % unknown[0])
    for key in ('uri', 'weight'):
        if key not in document:
            raise ValidationError('"%s" is required.' % key)
    fields = {key: _pool_field(key, value) for key, value in document.items()}
    fields.setdefault('options', {})
    fields.setdefault('flavor', None)
    return fields


def pool_changes(document: Any) -> dict[str, Any]:
    """A PATCH body: at least one of the pool fields (others ignored, as
    Zaqar does)."""
    document = _object(document)
    changes = {key: _pool_field(key, document[key])
               for key in POOL_FIELDS if key in document}
    if not changes:
        raise ValidationError('One of "uri", "weight", "flavor" or '
                              '"options" needs to be specified.')
    return changes


def flavor(document: Any) -> tuple[list[str], dict[str, Any]]:
    """A flavor PUT or PATCH body: its non-empty ``pool_list`` and its
    ``capabilities`` (an object, default {})."""
    document = _object(document)
    unknown = sorted(set(document) - {'pool_list', 'capabilities'})
    if unknown:
        raise ValidationError('Unknown flavor field "%s".' % unknown[0])
    pools = document.get('pool_list')
    if not isinstance(pools, list) or not pools \
            or not all(isinstance(p, str) for p in pools):
        raise ValidationError('"pool_list" must be a non-empty list of pool '
                              'names.')
    capabilities = document.get('capabilities', {})
    if not isinstance(capabilities, dict):
        raise ValidationError('"capabilities" must be a JSON object.')
    return list(dict.fromkeys(pools)), capabilities
