"""Signatures of notifier requests: HMAC-SHA256 of the exact body bytes.

Every webhook request (deliveries and confirmation requests) carries
``X-Bridge-Signature: sha256=<hex>``, keyed with the subscription's secret
(shown to the tenant once, when the subscription is created). A receiver
recomputes the HMAC over the raw bytes it received, before any JSON
parsing, and compares in constant time, as :func:`verify` does.

Subscriptions with the ``standard_webhooks`` option also get the
`Standard Webhooks <https://www.standardwebhooks.com/>`_ headers
(:func:`standard_headers`): the same secret, as its UTF-8 bytes, keys
HMAC-SHA256 over ``<webhook-id>.<webhook-timestamp>.<body>``; receivers
that take a ``whsec_`` secret get :func:`standard_webhooks_secret`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

HEADER = 'X-Bridge-Signature'
"""Name of the request header holding the signature."""

_PREFIX = 'sha256='


def sign(secret: str, body: bytes) -> str:
    """The header value for ``body``: ``sha256=`` and the lowercase hex
    HMAC-SHA256 of the bytes keyed with ``secret`` (UTF-8)."""
    digest = hmac.new(secret.encode('utf-8'), body, hashlib.sha256)
    return _PREFIX + digest.hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True if ``header`` is the signature of ``body`` under ``secret``.

    The comparison takes the same time wherever the first differing
    character is (:func:`hmac.compare_digest`), so a caller cannot learn
    the signature byte by byte. A missing or malformed header is False.
    """
    if not header:
        return False
    expected = sign(secret, body)
    return hmac.compare_digest(expected.encode('ascii'),
                               header.strip().encode('utf-8', 'replace'))


STANDARD_PREFIX = 'whsec_'


def standard_webhooks_secret(secret: str) -> str:
    """The subscription secret as Standard Webhooks verifiers take it:
    ``whsec_`` and the base64 of its UTF-8 bytes."""
    return STANDARD_PREFIX + base64.b64encode(
        secret.encode('utf-8')).decode('ascii')


def standard_headers(secret: str, webhook_id: str, timestamp: int,
                     body: bytes) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` (seconds since the epoch) and
    ``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of
    ``id.timestamp.body``) for ``body``."""
    signed = b'%s.%d.%s' % (webhook_id.encode('utf-8'), timestamp, body)
    digest = hmac.new(secret.encode('utf-8'), signed, hashlib.sha256).digest()
    return {'webhook-id': webhook_id,
            'webhook-timestamp': str(timestamp),
            'webhook-signature': 'v1,' + base64.b64encode(digest).decode()}
