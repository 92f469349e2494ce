"""Pre-signed URLs, with Zaqar's semantics.

A pre-signed URL is a :class:`Grant` (URL paths, HTTP methods, the project,
an expiry) and its HMAC-SHA256 signature, keyed with ``[signed_url]
secret_key``. Whoever holds the five values may send, without a token,
requests carrying them as headers::

    URL-Signature, URL-Expires, URL-Methods, URL-Paths, X-Project-ID

and such a request is allowed when its method is one of the methods, its
path is one of the paths or below one (``.../messages`` covers
``.../messages/ID``), the expiry has not passed and the signature matches.
The project of the request is the signed project: a signature can grant
nothing in another project, and nothing outside the signed paths, which all
name one queue (:data:`_PATH_RE`), or one topic subscription's
confirmation.

Where bridge issues grants: ``POST /v2/queues/{name}/share`` (the paths
``messages``, ``subscriptions`` and/or ``claims`` of that queue) and the
notifier's confirmation requests (``PUT`` on one subscription's
``/confirm``).

The signed text is Zaqar's, so a grant made by Zaqar with the same key
verifies here: the sorted paths joined by commas, the sorted methods joined
by commas, the project and the expiry (``YYYY-MM-DDTHH:MM:SS``, UTC),
separated by the two characters backslash and ``n``. Paths, methods and
expiry cannot hold a backslash (they are checked before any signature is
computed), so the text is unambiguous. The signature is lowercase hex and
compared in constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import re
from typing import Any, Callable, Mapping

DATE_FORMAT = '%Y-%m-%dT%H:%M:%S'
METHODS = frozenset(('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'))
#: What ``share`` may grant within a queue, as Zaqar allows.
RESOURCES = frozenset(('messages', 'subscriptions', 'claims'))
#: The one header whose presence makes a request a signed one.
SIGNATURE_ENVIRON_KEY = 'HTTP_URL_SIGNATURE'
# A topic's only signed path is a subscription's confirmation (Zaqar has
# no share for topics).
_PATH_RE = re.compile(r'^/v2/(?:queues/[a-zA-Z0-9_\-.]{1,64}/(?:messages|claims'
                      r'|subscriptions(?:/[0-9a-zA-Z_\-]{1,64}/confirm)?)'
                      r'|topics/[a-zA-Z0-9_\-.]{1,64}/subscriptions'
                      r'/[0-9a-zA-Z_\-]{1,64}/confirm)$')
_EXPIRES_RE = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:'
                         r'[0-9]{2}$')
_SIGNATURE_RE = re.compile(r'^[0-9a-f]{64}$')
_PROJECT_MAX_LEN = 256


class Refused(Exception):
    """The request's signature does not allow it; the message says why."""


@dataclasses.dataclass(frozen=True)
class Grant:
    """What a signature allows. Build with :func:`grant` (sorted, checked)."""

    paths: tuple[str, ...]
    methods: tuple[str, ...]
    project: str
    expires: str
    """UTC, :data:`DATE_FORMAT`."""


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def format_expiry(when: datetime.datetime) -> str:
    """``when`` (naive UTC) as grants carry it: whole seconds."""
    return when.strftime(DATE_FORMAT)


def grant(paths: list[str] | tuple[str, ...], methods: list[str] |
          tuple[str, ...], project: str, expires: str) -> Grant:
    """A grant over well-formed values; ValueError otherwise."""
    if not paths or not all(isinstance(p, str) and _PATH_RE.match(p)
                            for p in paths):
        raise ValueError('the paths must be queue resource paths')
    if len({tuple(p.split('/')[2:4]) for p in paths}) != 1:
        raise ValueError('the paths must all name one queue')
    if not methods or not all(m in METHODS for m in methods):
        raise ValueError('the methods must be among %s'
                         % ', '.join(sorted(METHODS)))
    if not project or len(project) > _PROJECT_MAX_LEN:
        raise ValueError('the project is missing or too long')
    if not isinstance(expires, str) or not _EXPIRES_RE.match(expires):
        raise ValueError('the expiry must look like 2030-01-31T23:59:59')
    return Grant(tuple(sorted(set(paths))), tuple(sorted(set(methods))),
                 project, expires)


def signature(key: str, signed: Grant) -> str:
    """Lowercase hex HMAC-SHA256 of the grant's text (see the module
    docstring) keyed with ``key``'s UTF-8 bytes."""
    text = '\\n'.join((','.join(signed.paths), ','.join(signed.methods),
                       signed.project, signed.expires))
    return hmac.new(key.encode('utf-8'), text.encode('utf-8'),
                    hashlib.sha256).hexdigest()


def document(key: str, signed: Grant) -> dict[str, Any]:
    """Zaqar's answer to ``share``: the grant and its signature."""
    return {'signature': signature(key, signed),
            'expires': signed.expires,
            'paths': list(signed.paths),
            'methods': list(signed.methods),
            'project': signed.project}


def headers(key: str, signed: Grant) -> dict[str, str]:
    """The request headers that use the grant."""
    return {'URL-Signature': signature(key, signed),
            'URL-Expires': signed.expires,
            'URL-Methods': ','.join(signed.methods),
            'URL-Paths': ','.join(signed.paths),
            'X-Project-ID': signed.project}


def is_signed(environ: Mapping[str, Any]) -> bool:
    """Whether a WSGI request presents a signature (and so is judged by it
    alone, never by a token)."""
    return SIGNATURE_ENVIRON_KEY in environ


def _covers(paths: tuple[str, ...], path: str) -> bool:
    return any(path == p or path.startswith(p + '/') for p in paths)


def verify(key: str | None, header: Callable[[str], str | None],
           method: str, path: str,
           now: datetime.datetime | None = None) -> str:
    """The project a signed request acts in; :class:`Refused` unless its
    headers (read with ``header(name)``) hold a valid, unexpired grant
    covering ``method`` and ``path``."""
    if not key:
        raise Refused('Pre-signed URLs are not enabled on this service.')
    try:
        signed = grant([p for p in (header('URL-Paths') or '').split(',')],
                       [m for m in (header('URL-Methods') or '').split(',')],
                       header('X-Project-ID') or '',
                       header('URL-Expires') or '')
    except ValueError as exc:
        raise Refused('The pre-signed URL headers are malformed: %s.' % exc)
    given = (header('URL-Signature') or '').strip()
    if not _SIGNATURE_RE.match(given) or not hmac.compare_digest(
            signature(key, signed).encode('ascii'), given.encode('ascii')):
        raise Refused('The URL signature does not match its paths, methods, '
                      'project and expiry.')
    expires = datetime.datetime.strptime(signed.expires, DATE_FORMAT)
    if expires <= (now or utcnow()):
        raise Refused('The pre-signed URL expired at %sZ.' % signed.expires)
    if method not in signed.methods:
        raise Refused('The pre-signed URL does not allow %s.' % method)
    if not _covers(signed.paths, path):
        raise Refused('The pre-signed URL does not allow this path.')
    return signed.project
