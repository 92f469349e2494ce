"""Queues and topics: the one place that says how they differ.

Both route families (``/v2/queues`` and ``/v2/topics``) are served by the
same resources (:mod:`.queues`, :mod:`.messages`, :mod:`.subscriptions`),
each given a :class:`Kind`. A topic is stored as a queue in its project's
``topics`` namespace (:mod:`bridge.storage.namespaces`). As in Zaqar v2,
a topic differs from a queue in only these ways:

* showing a topic that does not exist is 404 (a queue that does not exist
  shows its default metadata: queues are lazy);
* its metadata shows only three reserved keys (:data:`TOPIC_RESERVED`);
* its policy rules for the collection, the item, stats and purge are
  ``topics:*``; posting and listing messages and the subscriptions use the
  ``messages:*`` and ``subscription:*`` rules, as in Zaqar;
* it has no claims, no pop or bulk delete, no message delete, no
  existence check (HEAD) and no pre-signed URLs: those operations answer
  405 (or 404 where Zaqar has no such route).
"""

from __future__ import annotations

import dataclasses

from bridge.api import validation
from bridge.storage import namespaces

#: Reserved metadata keys a queue shows (with their defaults when unset).
QUEUE_RESERVED = ('_max_messages_post_size', '_default_message_ttl',
                  '_default_message_delay', '_dead_letter_queue',
                  '_dead_letter_queue_messages_ttl', '_max_claim_count',
                  '_enable_encrypt_messages')
TOPIC_RESERVED = QUEUE_RESERVED[:3]


@dataclasses.dataclass(frozen=True)
class Kind:
    """What a resource serving queues or topics needs to know about them."""

    #: ``queues`` or ``topics``: the URL segment, the list key and the
    #: storage namespace.
    collection: str
    #: The singular noun, for messages.
    noun: str
    #: GET of one that does not exist answers its defaults (not 404).
    lazy: bool
    reserved: tuple[str, ...]
    #: Policy rule for each queue rule this kind has; a queue rule that is
    #: absent is an operation this kind does not have.
    rules: dict[str, str]

    def owner(self, project: str) -> str:
        """The storage owner of the caller's queues or topics."""
        try:
            return namespaces.owner(project, self.collection)
        except ValueError as exc:
            raise validation.ValidationError(str(exc)) from None

    def path(self, name: str) -> str:
        return '/v2/%s/%s' % (self.collection, name)

    @property
    def name_field(self) -> str:
        """The URI template field of a name: ``queue_name``, ``topic_name``
        (the resources take it as ``queue_name`` either way)."""
        return self.noun + '_name'

    def rules_for(self, queue_rules: dict[str, str]
                  ) -> tuple[dict[str, str], frozenset[str]]:
        """(method -> rule, methods withheld) of a resource whose queue
        rules are ``queue_rules``."""
        kept = {method: self.rules[rule]
                for method, rule in queue_rules.items() if rule in self.rules}
        return kept, frozenset(queue_rules) - frozenset(kept)


_SHARED = ('messages:create', 'messages:get_all', 'messages:get',
           'subscription:create', 'subscription:get_all', 'subscription:get',
           'subscription:update', 'subscription:delete',
           'subscription:confirm')
_QUEUE_ONLY = ('queues:exists', 'queues:share', 'messages:delete_all',
               'messages:delete', 'claims:create', 'claims:get',
               'claims:update', 'claims:delete')
_RENAMED = ('get_all', 'create', 'get', 'update', 'delete', 'stats', 'purge')

QUEUE = Kind(
    collection=namespaces.QUEUES, noun='queue', lazy=True,
    reserved=QUEUE_RESERVED,
    rules={r: r for r in _SHARED + _QUEUE_ONLY
           + tuple('queues:' + op for op in _RENAMED)})
TOPIC = Kind(
    collection=namespaces.TOPICS, noun='topic', lazy=False,
    reserved=TOPIC_RESERVED,
    rules=dict({r: r for r in _SHARED},
               **{'queues:' + op: 'topics:' + op for op in _RENAMED}))
KINDS = (QUEUE, TOPIC)



class Served:
    """Base of the resources serving both kinds. Subclasses declare their
    queue ``rules`` (method -> rule) and call :meth:`serve`;
    :class:`bridge.api.hooks.Gate` reads ``kind`` and ``rules``."""

    rules: dict[str, str] = {}
    kind: Kind = QUEUE

    def serve(self, kind: Kind) -> None:
        """Serve ``kind``: its rules, and no responder for the methods it
        does not have (falcon maps only callable ``on_*`` attributes, so
        those answer falcon's 405 with an ``Allow`` header, and the route
        table shows exactly the operations of each kind)."""
        self.kind = kind
        self.rules, withheld = kind.rules_for(type(self).rules)
        for method in withheld:
            setattr(self, 'on_' + method.lower(), None)
