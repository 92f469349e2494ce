"""Confirmation requests (``[notifier] require_confirmation``).

A new (or re-addressed) subscriber gets one request, signed like any
delivery, naming the URL where the tenant confirms the subscription. The
confirmation itself is an authenticated API call (``PUT
.../subscriptions/{id}/confirm`` with ``{"confirmed": true}``) that the
tenant makes or relays: the request grants nothing by itself.
"""

from __future__ import annotations

import json

from bridge.storage import models


def url(public_endpoint: str | None, sub: models.Subscription) -> str:
    """Where the subscription is confirmed (a path when no public endpoint
    is configured)."""
    path = '/v2/queues/%s/subscriptions/%s/confirm' % (sub.queue, sub.id)
    return (public_endpoint or '').rstrip('/') + path


def webhook_payload(public_endpoint: str | None,
                    sub: models.Subscription) -> bytes:
    """The JSON body POSTed to a webhook subscriber."""
    return json.dumps({
        'Message_Type': 'SubscriptionConfirmation',
        'Message': ('Confirm the subscription to queue %s with an '
                    'authenticated PUT of {"confirmed": true} to '
                    'confirmation_url.' % sub.queue),
        'subscription_id': sub.id,
        'queue_name': sub.queue,
        'confirmation_url': url(public_endpoint, sub),
    }, separators=(',', ':')).encode('utf-8')


def email_subject(sub: models.Subscription) -> str:
    return 'Confirm your subscription to queue %s' % sub.queue


def email_text(public_endpoint: str | None, sub: models.Subscription,
               address: str) -> str:
    return ('You (or someone) subscribed %s to the messages of queue %s.\n\n'
            'To receive them, confirm the subscription with an '
            'authenticated request:\n\n  PUT %s\n  {"confirmed": true}\n\n'
            'Until then nothing is sent.\n'
            % (address, sub.queue, url(public_endpoint, sub)))
