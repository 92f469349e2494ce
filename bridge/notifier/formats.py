"""What a webhook request carries: its body and headers, per subscription.

Two subscription options choose (both validated by
:mod:`bridge.api.subscription_validation`; neither applies to ``mailto:``
subscribers):

* ``webhook_format``:

  - ``"zaqar"`` (default): Zaqar's body ``{"body", "ttl", "queue_name",
    "Message_Type": "Notification"}`` plus ``message_id`` and
    ``subscription_id``, as ``application/json``;
  - ``"cloudevents"``: a CloudEvents 1.0 event in structured mode
    (``application/cloudevents+json``): ``id`` the message id, ``source``
    ``/v2/queues/<queue>`` (or ``/v2/topics/<topic>``), ``type`` the
    body's ``event_type`` (else :data:`MESSAGE_TYPE`), ``subject`` its
    ``resource_id`` when it has
    one, ``time`` when the message was stored, ``data`` the message body,
    and the extension attributes ``bridgequeue``, ``bridgesubscription``
    and ``bridgettl``. Confirmation requests become events of type
    :data:`CONFIRMATION_TYPE` whose ``data`` is the Zaqar confirmation
    document.

* ``standard_webhooks``: ``true`` adds the Standard Webhooks headers
  (:func:`bridge.notifier.signing.standard_headers`): ``webhook-id`` is the
  message id (the same on every retry; ``confirm-<subscription id>`` for
  a confirmation request) and ``webhook-timestamp`` the time of the
  attempt.

``X-Bridge-Signature`` is on every request, whatever the options.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bridge.notifier import signing
from bridge.storage import models

FORMAT_OPTION = 'webhook_format'
ZAQAR = 'zaqar'
CLOUDEVENTS = 'cloudevents'
FORMATS = (ZAQAR, CLOUDEVENTS)
STANDARD_WEBHOOKS_OPTION = 'standard_webhooks'
#: Options that only mean something for webhook subscribers.
WEBHOOK_OPTIONS = frozenset((FORMAT_OPTION, STANDARD_WEBHOOKS_OPTION))

MESSAGE_TYPE = 'org.openstack.bridge.message'
CONFIRMATION_TYPE = 'org.openstack.bridge.subscription.confirmation'
JSON = 'application/json'
CLOUDEVENTS_JSON = 'application/cloudevents+json; charset=utf-8'


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(',', ':')).encode('utf-8')


def _rfc3339(timestamp: float) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(timestamp))


def _cloudevent(sub: models.Subscription, event_id: str, event_type: str,
                when: float, data: Any) -> dict[str, Any]:
    return {'specversion': '1.0',
            'id': event_id,
            'source': sub.source_path,
            'type': event_type,
            'time': _rfc3339(when),
            'datacontenttype': JSON,
            'bridgequeue': sub.queue,
            'bridgesubscription': sub.id,
            'data': data}


def is_cloudevents(sub: models.Subscription) -> bool:
    return sub.options.get(FORMAT_OPTION) == CLOUDEVENTS


def message_body(sub: models.Subscription, msg: models.Message) -> bytes:
    """The body POSTed for ``msg``."""
    if not is_cloudevents(sub):
        return _dumps({'body': msg.body, 'ttl': msg.ttl,
                       'queue_name': sub.queue,
                       'Message_Type': 'Notification',
                       'message_id': msg.id,
                       'subscription_id': sub.id})
    body = msg.body if isinstance(msg.body, dict) else {}
    event_type = body.get('event_type')
    event = _cloudevent(sub, msg.id, event_type
                        if isinstance(event_type, str) and event_type
                        else MESSAGE_TYPE, msg.created, msg.body)
    event['bridgettl'] = msg.ttl
    resource = body.get('resource_id')
    if isinstance(resource, str) and resource:
        event['subject'] = resource
    return _dumps(event)


def confirmation_body(sub: models.Subscription, document: dict[str, Any],
                      now: float) -> bytes:
    """The body POSTed as a confirmation request (``document``: Zaqar's)."""
    if not is_cloudevents(sub):
        return _dumps(document)
    return _dumps(_cloudevent(sub, confirmation_id(sub), CONFIRMATION_TYPE,
                              now, document))


def confirmation_id(sub: models.Subscription) -> str:
    return 'confirm-' + sub.id


def headers(sub: models.Subscription, body: bytes, webhook_id: str,
            now: float) -> dict[str, str]:
    """Content type and signatures of a request carrying ``body``."""
    result = {'Content-Type': CLOUDEVENTS_JSON if is_cloudevents(sub)
              else JSON,
              signing.HEADER: signing.sign(sub.secret, body)}
    if sub.options.get(STANDARD_WEBHOOKS_OPTION) is True:
        result.update(signing.standard_headers(sub.secret, webhook_id,
                                               int(now), body))
    return result
