"""Queue and topic resources: list, create, show, update metadata,
delete, stats, purge (each resource serves the :class:`~.kinds.Kind` it
is given).

Queues are lazy (Zaqar v2): posting creates them, and showing a queue that
does not exist answers 200 with the default metadata (a topic: 404).
Responses show the reserved metadata keys of the kind with their effective
defaults where the queue sets none.
"""

from __future__ import annotations

import time
from typing import Any

import falcon

from bridge import quotas as bridge_quotas
from bridge.api import errors
from bridge.api import kinds
from bridge.api import queue_validation
from bridge.api import subscriptions
from bridge.api import validation
from bridge.api import wire
from bridge.storage import codec
from bridge.storage import errors as storage_errors
from bridge.storage.base import Storage

PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch'


def reserved_defaults(limits: validation.Limits,
                      kind: kinds.Kind = kinds.QUEUE) -> dict[str, Any]:
    """Reserved metadata keys the kind shows and the value in force when a
    queue (or topic) sets none."""
    defaults = {
        '_max_messages_post_size': limits.max_messages_post_size,
        '_default_message_ttl': limits.default_message_ttl,
        '_default_message_delay': limits.default_message_delay,
        '_dead_letter_queue': None,
        '_dead_letter_queue_messages_ttl': None,
        '_max_claim_count': None,
        # Shown and validated here; what it does to stored bodies is the
        # storage's business.
        '_enable_encrypt_messages': False,
    }
    return {key: defaults[key] for key in kind.reserved}


def with_defaults(metadata: dict[str, Any],
                  defaults: dict[str, Any]) -> dict[str, Any]:
    shown = dict(metadata)
    for key, value in defaults.items():
        if not shown.get(key):
            shown[key] = value
    return shown


def apply_patch(metadata: dict[str, Any],
                operations: list[queue_validation.PatchOperation],
                reserved: dict[str, Any]) -> dict[str, Any]:
    """JSON-patch semantics on the metadata object (a new dict is
    returned). Replacing or removing a key that is not there is a conflict
    (409), except for reserved keys, which always exist implicitly."""
    result = dict(metadata)
    for operation in operations:
        key = operation.key
        if operation.op == 'add':
            result[key] = operation.value
        elif operation.op == 'replace':
            if key not in result and key not in reserved:
                raise errors.Conflict("Can't replace non-existent object "
                                      "%s." % key)
            result[key] = operation.value
        elif key in result:
            del result[key]
        elif key not in reserved:
            raise errors.Conflict("Can't remove non-existent object %s."
                                  % key)
    return result


class Collection(kinds.Served):
    """``/v2/queues`` or ``/v2/topics``"""

    rules = {'GET': 'queues:get_all'}

    def __init__(self, storage: Storage, limits: validation.Limits,
                 kind: kinds.Kind = kinds.QUEUE) -> None:
        self._storage = storage
        self._limits = limits
        self._reserved = reserved_defaults(limits, kind)
        self.serve(kind)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limits, project = self._limits, req.context.owner
        params: dict[str, Any] = {
            'limit': validation.int_param(
                req.get_param('limit'), 'limit',
                limits.default_queues_per_page, 1, limits.max_queues_per_page),
            'detailed': validation.bool_param(req.get_param('detailed'),
                                              'detailed'),
        }
        name = req.get_param('name')
        if name:
            params['name'] = name
        queues = self._storage.list_queues(
            project, marker=req.get_param('marker'), limit=params['limit'],
            name=name)
        body: dict[str, Any] = {
            self.kind.collection: [self._queue(queue, meta,
                                               params['detailed'])
                       for queue, meta in queues],
            'links': []}
        if queues:
            body['links'] = wire.next_link(
                req.path, dict(params, marker=queues[-1][0]))
        if validation.bool_param(req.get_param('with_count'), 'with_count'):
            body['count'] = self._storage.count_queues(project, name)
        wire.send(resp, body)

    def _queue(self, name: str, metadata: dict[str, Any],
               detailed: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {'name': name, 'href': self.kind.path(name)}
        if detailed:
            doc['metadata'] = with_defaults(metadata, self._reserved)
        return doc


class Item(kinds.Served):
    """``/v2/queues/{queue_name}`` or ``/v2/topics/{topic_name}``"""

    rules = {'GET': 'queues:get', 'HEAD': 'queues:exists',
             'PUT': 'queues:create', 'PATCH': 'queues:update',
             'DELETE': 'queues:delete'}

    def __init__(self, storage: Storage, limits: validation.Limits,
                 kind: kinds.Kind = kinds.QUEUE, *,
                 quotas: bridge_quotas.Quotas) -> None:
        self._storage = storage
        self._limits = limits
        self._reserved = reserved_defaults(limits, kind)
        self._quotas = quotas
        self.serve(kind)

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str) -> None:
        try:
            metadata = self._storage.get_queue(req.context.owner, queue_name)
        except storage_errors.QueueNotFound:
            if not self.kind.lazy:
                raise
            metadata = {}
        wire.send(resp, with_defaults(metadata, self._reserved))

    def on_head(self, req: falcon.Request, resp: falcon.Response,
                queue_name: str) -> None:
        self._storage.get_queue(req.context.owner, queue_name)
        resp.status = falcon.HTTP_204

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str) -> None:
        document = self._read_metadata(req)
        metadata = {} if document is None else \
            validation.queue_metadata(document, self._limits)
        self._check_encryption(metadata)
        created = self._storage.create_queue(
            req.context.owner, queue_name, metadata,
            max_queues=self._quotas.of(req.context.project).queues)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_204
        resp.location = req.path

    def on_patch(self, req: falcon.Request, resp: falcon.Response,
                 queue_name: str) -> None:
        media_type = (req.content_type or '').split(';')[0].strip().lower()
        if media_type != PATCH_MEDIA_TYPE:
            raise errors.UnsupportedMediaType(
                'Accepted media type for PATCH: %s.' % PATCH_MEDIA_TYPE,
                headers={'Accept-Patch': PATCH_MEDIA_TYPE})
        document = self._read_metadata(req, required=True)
        operations = queue_validation.patch_operations(document)
        project = req.context.owner
        metadata = self._storage.get_queue(project, queue_name)
        metadata = validation.queue_metadata(
            apply_patch(metadata, operations, self._reserved), self._limits)
        self._check_encryption(metadata)
        self._storage.set_queue_metadata(project, queue_name, metadata)
        wire.send(resp, with_defaults(metadata, self._reserved))

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  queue_name: str) -> None:
        self._storage.delete_queue(req.context.owner, queue_name)
        resp.status = falcon.HTTP_204

    def _check_encryption(self, metadata: dict[str, Any]) -> None:
        """Refuse to turn on encryption at rest where no key could seal."""
        if codec.wants_sealing(metadata) and not self._storage.codec.can_seal:
            raise errors.BadRequest(
                'Messages cannot be encrypted at rest: this server has no '
                'encryption key configured, so "%s" cannot be true.'
                % codec.FLAG)

    def _read_metadata(self, req: falcon.Request,
                       required: bool = False) -> Any:
        limit = self._limits.max_queue_metadata
        if (req.content_length or 0) > limit:
            raise errors.BadRequest('Queue metadata is too large; the '
                                    'maximum is %d bytes.' % limit)
        raw = wire.read_body(req, self._limits, required)
        if raw is None:
            return None
        if len(raw) > limit:
            raise errors.BadRequest('Queue metadata is too large; the '
                                    'maximum is %d bytes.' % limit)
        return validation.parse_json(raw, self._limits.max_json_depth)


class Stats(kinds.Served):
    """``/v2/queues/{queue_name}/stats`` (or a topic's)"""

    rules = {'GET': 'queues:stats'}

    def __init__(self, storage: Storage,
                 kind: kinds.Kind = kinds.QUEUE) -> None:
        self._storage = storage
        self.serve(kind)

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str) -> None:
        stats = self._storage.queue_stats(req.context.owner, queue_name)
        counts: dict[str, Any] = {'claimed': stats.claimed,
                                  'free': stats.free,
                                  'delayed': stats.delayed,
                                  'total': stats.total}
        now = time.time()
        for label, msg in (('oldest', stats.oldest),
                           ('newest', stats.newest)):
            if stats.total and msg is not None:
                counts[label] = {
                    'href': wire.message_href(self.kind.path(queue_name),
                                              msg.id),
                    'age': msg.age(now),
                    'created': wire.iso8601(msg.created)}
        wire.send(resp, {'messages': counts})


class Purge(kinds.Served):
    """``/v2/queues/{queue_name}/purge`` (or a topic's): delete the
    queue's messages and/or subscriptions (``resource_types``; both without
    a body), keep the queue."""

    rules = {'POST': 'queues:purge'}

    def __init__(self, storage: Storage, limits: validation.Limits,
                 kind: kinds.Kind = kinds.QUEUE) -> None:
        self._storage = storage
        self._limits = limits
        self.serve(kind)

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                queue_name: str) -> None:
        types = queue_validation.purge_resource_types(
            wire.read_json(req, self._limits))
        if 'messages' in types:
            self._storage.purge_queue(req.context.owner, queue_name)
        if 'subscriptions' in types:
            subscriptions.delete_all(self._storage, req.context.owner,
                                     queue_name)
        resp.status = falcon.HTTP_204
