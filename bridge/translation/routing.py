"""Routing: which queue of the owner's project a notification goes to.

Routes are tried in file order; the first enabled route whose ``match``
matches the notification decides:

* ``queue: TEMPLATE`` (with an optional ``ttl`` in seconds): the queue name
  is the template rendered with :data:`~bridge.translation.rules.
  TEMPLATE_VARIABLES` and then sanitized (:func:`sanitize_queue_name`).
* ``drop: true``: the notification is discarded on purpose.

No matching route makes the notification unroutable (dead letter), never
silently dropped.
"""

from __future__ import annotations

import re

from bridge.translation import body
from bridge.translation.ruleset import Family, Route, Rules, memoized

#: Longest queue name python-zaqarclient and the API accept.
QUEUE_NAME_MAX = 64
_INVALID = re.compile(r'[^a-zA-Z0-9_-]')


def sanitize_queue_name(name: str) -> str:
    """``name`` made acceptable as a queue name: dots become ``-``, every
    other character outside ``[a-zA-Z0-9_-]`` becomes ``_``, and the result
    is cut to 64 characters. May be empty if ``name`` is."""
    return _INVALID.sub('_', name.replace('.', '-'))[:QUEUE_NAME_MAX]


def find_family(rules: Rules, event_type: str, exchange: str | None,
                publisher_id: str, priority: str) -> Family | None:
    """The first family matching the notification, or None."""
    def compute() -> Family | None:
        for family in rules.families:
            if family.match.matches(event_type, exchange, publisher_id,
                                    priority):
                return family
        return None
    return memoized(rules, ('family', event_type, exchange, publisher_id,
                            priority), compute)


def find_route(rules: Rules, event_type: str, exchange: str | None,
               publisher_id: str, priority: str) -> Route | None:
    """The first enabled route matching the notification, or None."""
    def compute() -> Route | None:
        for route in rules.routes:
            if route.match.matches(event_type, exchange, publisher_id,
                                   priority):
                return route
        return None
    return memoized(rules, ('route', event_type, exchange, publisher_id,
                            priority), compute)


def queue_name(route: Route, *, service: str, exchange: str | None,
               event_type: str, priority: str, publisher_id: str) -> str:
    """The sanitized queue name ``route`` gives (empty when the template
    renders to nothing). ``route`` must not be a drop rule."""
    assert route.queue is not None
    exchange_name = exchange if exchange and exchange not in \
        body.GENERIC_EXCHANGES else service
    return sanitize_queue_name(route.queue.render({
        'service': service,
        'exchange': exchange_name,
        'event_type': event_type,
        'priority': priority,
        'publisher': body.publisher_service_part(publisher_id),
    }))
