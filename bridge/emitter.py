"""Publish notifications on RabbitMQ exactly as an OpenStack service does.

The wire format is oslo.messaging's ``messagingv2`` driver: an AMQP message
``{"oslo.version": "2.0", "oslo.message": "<json>"}`` on the service's topic
exchange with routing key ``<topic>.<priority>``; the inner JSON carries
``message_id``, ``publisher_id``, ``event_type``, ``priority`` (upper case),
``payload``, ``timestamp``, ``_unique_id`` and the request context flattened
as ``_context_<key>``.

Used by the demo emitter, ``bridge-bench ingest`` and the end-to-end tests;
bridge itself never publishes notifications.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any, Iterable, Iterator

import kombu


def wire_message(sample: dict[str, Any], *, message_id: str | None = None,
                 timestamp: str | None = None) -> dict[str, Any]:
    """The AMQP body oslo.messaging would send for ``sample`` (a dict with
    ``priority, publisher_id, event_type, payload, ctxt`` and optionally
    ``message_id, timestamp``, as in tests/fixtures/notifications)."""
    inner: dict[str, Any] = {
        'message_id': message_id or sample.get('message_id') or str(uuid.uuid4()),
        'publisher_id': sample['publisher_id'],
        'event_type': sample['event_type'],
        'priority': sample.get('priority', 'INFO').upper(),
        'payload': sample['payload'],
        'timestamp': timestamp or sample.get('timestamp') or now_timestamp(),
        '_unique_id': uuid.uuid4().hex,
    }
    for key, value in (sample.get('ctxt') or {}).items():
        inner['_context_%s' % key] = value
    return {'oslo.version': '2.0', 'oslo.message': json.dumps(inner)}


def now_timestamp() -> str:
    """oslo.messaging's timestamp format: naive UTC with microseconds."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return now.strftime('%Y-%m-%d %H:%M:%S.%f')


def exchange_of(sample: dict[str, Any]) -> str:
    """The exchange the sample's service publishes on: the ``exchange``
    key if present, else the service named by its fixture ``source`` file
    name convention or publisher_id (``compute.host`` -> ``nova``)."""
    if sample.get('exchange'):
        return str(sample['exchange'])
    publisher = str(sample.get('publisher_id', '')).split('.', 1)[0]
    publisher = publisher.split(':', 1)[0]
    return _PUBLISHER_EXCHANGES.get(publisher, publisher or 'openstack')


def topic_of(sample: dict[str, Any]) -> str:
    """Nova's versioned notifications use ``versioned_notifications``."""
    if sample.get('topic'):
        return str(sample['topic'])
    payload = sample.get('payload')
    if isinstance(payload, dict) and 'nova_object.data' in payload:
        return 'versioned_notifications'
    return 'notifications'


_PUBLISHER_EXCHANGES = {
    'compute': 'nova', 'nova-compute': 'nova', 'nova-api': 'nova',
    'nova-conductor': 'nova', 'nova-scheduler': 'nova', 'nova-osapi_compute': 'nova',
    'api': 'nova', 'conductor': 'nova', 'scheduler': 'nova',
    'volume': 'cinder', 'snapshot': 'cinder', 'cinder-volume': 'cinder',
    'network': 'neutron', 'image': 'glance', 'orchestration': 'heat',
    'identity': 'keystone', 'dns': 'designate', 'central': 'designate',
    'images': 'glance',
    'taskmanager': 'trove', 'trove-taskmanager': 'trove',
}


class Emitter:
    """A kombu connection publishing notifications. Exchanges are declared
    the way oslo.messaging declares them (topic, non-durable, not
    auto-deleted by default), so both can share a broker."""

    def __init__(self, url: str, *, durable: bool = False,
                 timeout: float = 10.0) -> None:
        self.connection = kombu.Connection(_amqp_url(url),
                                           connect_timeout=timeout)
        self.durable = durable
        self._exchanges: dict[str, kombu.Exchange] = {}
        self._producer = kombu.Producer(self.connection.channel())

    def _exchange(self, name: str) -> kombu.Exchange:
        if name not in self._exchanges:
            exchange = kombu.Exchange(name, type='topic', durable=self.durable,
                                      auto_delete=False)
            exchange.declare(channel=self._producer.channel)
            self._exchanges[name] = exchange
        return self._exchanges[name]

    def publish(self, sample: dict[str, Any], **wire: Any) -> str:
        """Publish one sample; return its message_id."""
        body = wire_message(sample, **wire)
        priority = json.loads(body['oslo.message'])['priority'].lower()
        self._producer.publish(
            body, exchange=self._exchange(exchange_of(sample)),
            routing_key='%s.%s' % (topic_of(sample), priority),
            serializer='json', delivery_mode=2 if self.durable else 1)
        return json.loads(body['oslo.message'])['message_id']

    def publish_all(self, samples: Iterable[dict[str, Any]]) -> list[str]:
        return [self.publish(s) for s in samples]

    def close(self) -> None:
        self.connection.release()

    def __enter__(self) -> 'Emitter':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _amqp_url(url: str) -> str:
    """oslo.messaging's ``rabbit://`` URLs as kombu's ``amqp://``."""
    if url.startswith('rabbit://'):
        return 'amqp://' + url[len('rabbit://'):]
    return url


def varied(samples: list[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    """``count`` copies of the samples in turn, each with a fresh
    message_id (a redelivery keeps its id; a new event never does)."""
    for i in range(count):
        sample = dict(samples[i % len(samples)])
        sample['message_id'] = str(uuid.uuid4())
        yield sample
