"""Validation of the queue operations that change a queue as a whole:
metadata JSON-patch documents (``PATCH /v2/queues/{name}``) and purge
bodies. Pure functions raising :class:`~bridge.api.validation.
ValidationError`, like the rest of :mod:`bridge.api.validation`."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from bridge.api.validation import ValidationError

PURGEABLE_RESOURCE_TYPES = frozenset(('messages', 'subscriptions'))
PATCH_OPERATIONS = frozenset(('add', 'remove', 'replace'))


@dataclasses.dataclass(frozen=True)
class PatchOperation:
    op: str
    key: str
    value: Any = None


def _pointer_key(path: Any) -> str:
    parts = path.split('/') if isinstance(path, str) else []
    if len(parts) != 3 or parts[0] or parts[1].lower() != 'metadata' \
            or not parts[2]:
        raise ValidationError('"path" must be a JSON pointer of the form '
                              '/metadata/KEY.')
    key = parts[2]
    if re.search('~[^01]|~$', key):
        raise ValidationError('"path" holds a "~" that is not ~0 or ~1.')
    return key.replace('~1', '/').replace('~0', '~')


def patch_operations(document: Any) -> list[PatchOperation]:
    """A JSON-patch document limited to add/remove/replace of
    ``/metadata/KEY``."""
    if not isinstance(document, list) or not document:
        raise ValidationError('Request body must be a non-empty JSON array '
                              'of operation objects.')
    operations = []
    for raw in document:
        if not isinstance(raw, dict):
            raise ValidationError('Operations must be JSON objects.')
        op = raw.get('op')
        if not isinstance(op, str) or op not in PATCH_OPERATIONS:
            raise ValidationError('"op" must be one of: add, remove, '
                                  'replace.')
        key = _pointer_key(raw.get('path'))
        if op != 'remove' and 'value' not in raw:
            raise ValidationError('Operation "%s" requires a "value".' % op)
        operations.append(PatchOperation(op, key, raw.get('value')))
    return operations


def purge_resource_types(document: Any) -> frozenset[str]:
    """``{"resource_types": ["messages", "subscriptions"]}``; no body means
    both."""
    if document is None:
        return PURGEABLE_RESOURCE_TYPES
    types = document.get('resource_types') if isinstance(document, dict) \
        else None
    if not isinstance(types, list) or not all(
            isinstance(t, str) and t in PURGEABLE_RESOURCE_TYPES
            for t in types):
        raise ValidationError('"resource_types" must be a list drawn from: '
                              'messages, subscriptions.')
    return frozenset(types)
