"""Validation of ``POST /v2/queues/{name}/share`` bodies: a pure function
raising :class:`~bridge.api.validation.ValidationError`, like the rest of
:mod:`bridge.api.validation`.

``{"paths": [...], "methods": [...], "expires": "..."}``, each optional, as
Zaqar takes them:

* ``paths``: among ``messages``, ``subscriptions``, ``claims`` (default
  ``["messages"]``), granted on this queue only;
* ``methods``: HTTP methods (default ``["GET"]``);
* ``expires``: an ISO 8601 time in the future (UTC unless it carries an
  offset; not a number), default ``[signed_url] default_expiry`` seconds
  from now. It is kept to the second.
"""

from __future__ import annotations

import datetime
from typing import Any

from bridge import signed_urls
from bridge.api.validation import ValidationError

SHARE_FIELDS = frozenset(('paths', 'methods', 'expires'))


def _names(value: Any, field: str, allowed: frozenset[str],
           default: str) -> list[str]:
    if value is None or value == []:
        return [default]
    if not isinstance(value, list) or not all(
            isinstance(v, str) and v in allowed for v in value):
        raise ValidationError('"%s" must be a list drawn from: %s.'
                              % (field, ', '.join(sorted(allowed))))
    return value


def _expiry(value: Any, now: datetime.datetime,
            default_seconds: int) -> datetime.datetime:
    if value is None:
        return now + datetime.timedelta(seconds=default_seconds)
    if not isinstance(value, str) or value.strip().lstrip('-').isdigit():
        raise ValidationError('"expires" must be an ISO 8601 date and time, '
                              'such as 2030-01-31T23:59:59 (UTC), not a '
                              'number.')
    text = value.strip()
    if text.endswith(('Z', 'z')):
        text = text[:-1] + '+00:00'
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError('"expires" must be an ISO 8601 date and time, '
                              'such as 2030-01-31T23:59:59 (UTC).') from None
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if when.replace(microsecond=0) <= now:
        raise ValidationError('"expires" must be in the future.')
    return when


def share_request(document: Any, queue_path: str, project: str,
                  now: datetime.datetime,
                  default_seconds: int) -> signed_urls.Grant:
    """The grant a share body asks for on the queue at ``queue_path``
    (``/v2/queues/NAME``), for ``project``, judged at ``now`` (naive
    UTC)."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ValidationError('The share request must be a JSON object.')
    unknown = sorted(set(document) - SHARE_FIELDS)
    if unknown:
        raise ValidationError('Unknown keys: %s (known: expires, methods, '
                              'paths).' % ', '.join(unknown))
    paths = _names(document.get('paths'), 'paths', signed_urls.RESOURCES,
                   'messages')
    methods = _names(document.get('methods'), 'methods', signed_urls.METHODS,
                     'GET')
    expires = _expiry(document.get('expires'), now, default_seconds)
    try:
        return signed_urls.grant([queue_path + '/' + p for p in paths],
                                 methods, project,
                                 signed_urls.format_expiry(expires))
    except ValueError as exc:
        raise ValidationError('The URL cannot be signed: %s.' % exc) from None
