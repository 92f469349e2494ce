"""Signatures of notifier requests: HMAC-SHA256 of the exact body bytes.

Every webhook request (deliveries and confirmation requests) carries
``X-Bridge-Signature: sha256=<hex>``, keyed with the subscription's secret
(shown to the tenant once, when the subscription is created). A receiver
recomputes the HMAC over the raw bytes it received, before any JSON
parsing, and compares in constant time, as :func:`verify` does.
"""

from __future__ import annotations

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
