"""``bridge-manage rules check FILE``: what a tenant would receive.

FILE holds one notification or a JSON list of them, in any of the forms
bridge meets: the listener's (``event_type, publisher_id, priority,
payload, ctxt``, plus ``message_id`` and ``timestamp``, as in
``tests/fixtures/notifications``), or oslo.messaging's wire form
(``{"oslo.version": "2.0", "oslo.message": "<json>"}`` with
``_context_*`` keys). Each goes through the configured rules exactly as
``bridge-listener`` would translate it: ``[listener] rules_file`` (or
``--rules``), ``[translation] operator_projects``, and the ownership index
of the configured storage (unless ``--no-index``), updated along the file
as the listener would (a create before a delete in the same file counts;
nothing is written). For each it prints where it goes and the exact body
stored there, or why it goes to the operator's dead-letter queue.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, TextIO

from bridge import translation
from bridge.storage import base
from bridge.translation import ownership


class InputError(ValueError):
    """The file holds no notification bridge can read; says why."""


def read_notifications(text: str) -> list[translation.Notification]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InputError('not JSON: %s' % exc) from None
    items = doc if isinstance(doc, list) else [doc]
    notes = [_notification(item, i) for i, item in enumerate(items)]
    if not notes:
        raise InputError('the file holds an empty list')
    return notes


def _notification(item: Any, index: int) -> translation.Notification:
    if not isinstance(item, dict):
        raise InputError('item %d is not a JSON object' % index)
    if 'oslo.message' in item:
        try:
            inner = json.loads(item['oslo.message'])
        except (TypeError, ValueError):
            raise InputError('item %d: "oslo.message" is not a JSON '
                             'string' % index) from None
        ctxt = {k[len('_context_'):]: v for k, v in inner.items()
                if k.startswith('_context_')}
        item = dict(inner, ctxt=ctxt)
    if not isinstance(item.get('event_type'), str):
        raise InputError('item %d has no "event_type"' % index)
    ctxt = item.get('ctxt')
    payload = item.get('payload')
    return translation.Notification(
        event_type=item['event_type'],
        publisher_id=str(item.get('publisher_id') or ''),
        priority=str(item.get('priority') or 'info').lower(),
        payload=payload if isinstance(payload, dict) else {'value': payload},
        ctxt=ctxt if isinstance(ctxt, dict) else {},
        message_id=str(item.get('message_id') or 'check-%d' % index),
        timestamp=str(item.get('timestamp') or ''),
        exchange=item.get('exchange') if isinstance(item.get('exchange'),
                                                    str) else None)


_SOURCES = {'payload': 'the payload', 'index': 'the ownership index',
            'context': 'the request context'}


def outcomes(notes: list[translation.Notification], rules: translation.Rules,
             store: base.Storage | None
             ) -> Iterator[tuple[translation.Notification, Any]]:
    """(notification, translation result), in file order."""
    keys = sorted({k for k in (ownership.index_key(n, rules) for n in notes)
                   if k is not None})
    owners = {key: entry.project for key, entry in
              (store.lookup_owners(keys) if store and keys else {}).items()}
    for note in notes:
        result = translation.translate(note, rules, owners)
        fact = getattr(result, 'ownership', None)
        if fact is not None:
            owners[fact.key] = fact.project
        yield note, result


def report(notes: list[translation.Notification], rules: translation.Rules,
           store: base.Storage | None, out: TextIO) -> int:
    """Print each outcome; return how many reach a tenant."""
    routed = 0
    for i, (note, result) in enumerate(outcomes(notes, rules, store)):
        head = '[%d] %s (%s)' % (i, note.event_type, note.publisher_id)
        if isinstance(result, translation.Routed):
            routed += 1
            out.write('%s -> project %s, queue %s (owner from %s)\n'
                      % (head, result.project_id, result.queue,
                         _SOURCES.get(result.owner_from, '?')))
            out.write(json.dumps(result.body, indent=2, sort_keys=True,
                                 ensure_ascii=False) + '\n')
        elif isinstance(result, translation.Dropped):
            out.write('%s -> dropped by routing rule %s: no tenant '
                      'receives it\n' % (head, result.rule))
        else:
            out.write('%s -> operator dead-letter queue: no tenant '
                      'receives it\n    reason: %s\n' % (head, result.reason))
    return routed
