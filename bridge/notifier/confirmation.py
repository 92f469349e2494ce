"""Confirmation requests (``[notifier] require_confirmation``).

A new (or re-addressed) subscriber gets one request, signed like any
delivery, naming the URL where the subscription is confirmed (``PUT
.../subscriptions/{id}/confirm`` with ``{"confirmed": true}``). Without
``[signed_url] secret_key`` that is an authenticated API call the tenant
makes or relays, and the request grants nothing by itself. With it, as in
Zaqar, the request also carries a pre-signed URL (:mod:`bridge.signed_urls`)
for ``PUT`` on that one confirmation path, valid ``[signed_url]
default_expiry`` seconds: the subscriber can confirm (or refuse) without a
token, and do nothing else.
"""

from __future__ import annotations

import datetime
from typing import Any

from bridge import signed_urls
from bridge.storage import models


def path(sub: models.Subscription) -> str:
    return '%s/subscriptions/%s/confirm' % (sub.source_path, sub.id)


def url(public_endpoint: str | None, sub: models.Subscription) -> str:
    """Where the subscription is confirmed (a path when no public endpoint
    is configured)."""
    return (public_endpoint or '').rstrip('/') + path(sub)


def signed_headers(key: str | None, lifetime: int, sub: models.Subscription,
                   now: float) -> dict[str, str]:
    """The pre-signed URL headers allowing ``PUT`` on the subscription's
    confirmation path until ``now + lifetime``; empty without a key."""
    if not key:
        return {}
    expires = datetime.datetime.fromtimestamp(
        now + lifetime, datetime.timezone.utc).replace(tzinfo=None)
    grant = signed_urls.grant([path(sub)], ['PUT'], sub.tenant,
                              signed_urls.format_expiry(expires))
    return signed_urls.headers(key, grant)


def webhook_document(public_endpoint: str | None, sub: models.Subscription,
                     signed: dict[str, str] | None = None) -> dict[str, Any]:
    """What a webhook subscriber is sent (:mod:`bridge.notifier.formats`
    makes the body of it): with ``signed``
    (:func:`signed_headers`), Zaqar's ``URL-*``, ``X-Project-ID``,
    ``SubscribeBody`` and ``UnsubscribeBody`` fields too."""
    if signed:
        how = ('a PUT of SubscribeBody to confirmation_url with the '
               'URL-Signature, URL-Expires, URL-Methods, URL-Paths and '
               'X-Project-ID headers given here (no token needed)')
    else:
        how = 'an authenticated PUT of {"confirmed": true} to confirmation_url'
    document: dict[str, Any] = {
        'Message_Type': 'SubscriptionConfirmation',
        'Message': 'Confirm the subscription to %s %s with %s.'
                   % (sub.source_kind, sub.queue, how),
        'subscription_id': sub.id,
        'queue_name': sub.queue,
        'confirmation_url': url(public_endpoint, sub),
    }
    if signed:
        document.update(signed)
        document['SubscribeBody'] = {'confirmed': True}
        document['UnsubscribeBody'] = {'confirmed': False}
    return document


def email_subject(sub: models.Subscription) -> str:
    return 'Confirm your subscription to %s %s' % (sub.source_kind,
                                                   sub.queue)


def email_text(public_endpoint: str | None, sub: models.Subscription,
               address: str, signed: dict[str, str] | None = None) -> str:
    if signed:
        how = ('this request (no token needed; the headers expire at %sZ):'
               '\n\n  PUT %s\n%s\n  {"confirmed": true}'
               % (signed['URL-Expires'], url(public_endpoint, sub),
                  '\n'.join('  %s: %s' % item for item in signed.items())))
    else:
        how = ('an authenticated request:\n\n  PUT %s\n  {"confirmed": true}'
               % url(public_endpoint, sub))
    return ('You (or someone) subscribed %s to the messages of %s %s.\n\n'
            'To receive them, confirm the subscription with %s\n\n'
            'Until then nothing is sent.\n'
            % (address, sub.source_kind, sub.queue, how))
