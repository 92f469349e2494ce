"""``bridge-manage dead-letters list|replay``: the operator dead-letter queue.

``bridge-listener`` stores the notifications it cannot deliver to a tenant
in queue ``[listener] dead_letter_queue`` of project
``[listener] dead_letter_project``, with bodies of two forms:

* ``{"reason": ..., "notification": {event_type, publisher_id, priority,
  payload, ctxt, message_id, timestamp, exchange}}``: the notification
  could not be attributed or translated. Replay translates it again with
  the current rules.
* ``{"reason": ..., "notification": {"project_id", "queue", "message"}}``:
  translation worked but the tenant queue refused the message. Replay
  stores ``message`` (already translated) in that queue again. (When even
  the message could not be kept, only the address is there: such a letter
  cannot be replayed.)

Replay guarantees
-----------------
* A letter leaves the dead-letter queue only after its message is stored
  in the tenant queue; a crash or an interrupted run loses nothing.
* Stored once: the tenant message is posted with the notification's
  ``message_id`` as dedup key, as the listener does, so re-running replay,
  or replaying an event the listener also stored, adds no duplicate.
* Letters that are still unroutable, that a rule now drops, or whose store
  fails stay where they are; claimed letters (an operator is reading them)
  are skipped.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any, Callable, Iterator, Mapping, TextIO

from bridge import translation
from bridge.storage import base, errors, models
from bridge.translation import model, ownership

PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class Replay:
    """Store ``message`` in ``queue`` of ``project``."""

    project: str
    queue: str
    message: models.NewMessage
    #: What the event tells the ownership index (an OwnerFact), or None.
    ownership: Any = None


@dataclasses.dataclass(frozen=True)
class Keep:
    """Leave the letter in the dead-letter queue."""

    kind: str
    """``unroutable``, ``dropped`` or ``unreadable``."""
    reason: str


def plan(body: Any, rules: translation.Rules, default_ttl: int,
         owners: Mapping[tuple[str, str], str] | None = None
         ) -> Replay | Keep:
    """What replaying one dead letter (its message body) would do, given
    what the ownership index holds of its resource (``owners``). Pure."""
    note = body.get('notification') if isinstance(body, dict) else None
    if not isinstance(note, dict):
        return Keep('unreadable', 'not a bridge dead letter (no '
                                  '"notification" object)')
    if 'event_type' in note:
        return _plan_notification(note, rules, default_ttl, owners or {})
    return _plan_refused(note, default_ttl)


def notification_of(body: Any) -> translation.Notification | None:
    """The notification a dead letter holds, if it holds one."""
    note = body.get('notification') if isinstance(body, dict) else None
    if not isinstance(note, dict) or 'event_type' not in note:
        return None
    return translation.Notification(**{name: note.get(name)
                                       for name in model.NOTIFICATION_FIELDS})


def _plan_notification(note: dict[str, Any], rules: translation.Rules,
                       default_ttl: int,
                       owners: Mapping[tuple[str, str], str]
                       ) -> Replay | Keep:
    fields: dict[str, Any] = {name: note.get(name)
                              for name in model.NOTIFICATION_FIELDS}
    result = translation.translate(translation.Notification(**fields), rules,
                                   owners)
    if isinstance(result, translation.Routed):
        return Replay(result.project_id, result.queue, models.NewMessage(
            body=result.body, ttl=result.ttl or default_ttl,
            dedup_key=result.dedup_key), result.ownership)
    if isinstance(result, translation.Dropped):
        return Keep('dropped', 'dropped by routing rule %s' % result.rule)
    return Keep('unroutable', result.reason)


def _plan_refused(note: dict[str, Any], default_ttl: int) -> Replay | Keep:
    project, queue = note.get('project_id'), note.get('queue')
    message = note.get('message')
    if not (isinstance(project, str) and isinstance(queue, str)):
        return Keep('unreadable', 'the letter names no project and queue')
    if not isinstance(message, dict):
        return Keep('unreadable', 'only the address %s/%s was kept, not the '
                                  'message' % (project, queue))
    dedup = message.get('id') if isinstance(message.get('id'), str) else None
    return Replay(project, queue, models.NewMessage(
        body=message, ttl=default_ttl, dedup_key=dedup))


def letters(store: base.Storage, project: str, queue: str, *,
            include_claimed: bool) -> Iterator[models.Message]:
    """Every unexpired message of the queue, oldest first, page by page
    (deleting messages already yielded does not disturb the paging)."""
    marker = None
    while True:
        page = store.list_messages(project, queue, marker=marker,
                                   limit=PAGE_SIZE, echo=True,
                                   include_claimed=include_claimed,
                                   include_delayed=True)
        if not page.messages:
            return
        yield from page.messages
        marker = page.next_marker


def describe(body: Any) -> tuple[str, str, str]:
    """(event_type, publisher_id, reason) of a letter, for listings."""
    if not isinstance(body, dict):
        return '?', '?', 'not a bridge dead letter'
    note = body.get('notification')
    note = note if isinstance(note, dict) else {}
    reason = str(body.get('reason', ''))
    if 'event_type' in note:
        return (str(note.get('event_type')), str(note.get('publisher_id')),
                reason)
    message = note.get('message')
    event = message.get('event_type') if isinstance(message, dict) else None
    return (str(event or '?'), '-> %s/%s' % (note.get('project_id'),
                                            note.get('queue')), reason)


def list_letters(store: base.Storage, project: str, queue: str, limit: int,
                 out: TextIO, now: float | None = None) -> int:
    """Print the queue's size and its ``limit`` oldest letters; return how
    many were printed."""
    stats = store.queue_stats(project, queue)
    out.write('%s/%s: %d dead letters (%d claimed)\n'
              % (project, queue, stats.total, stats.claimed))
    at = time.time() if now is None else now
    shown = 0
    for message in letters(store, project, queue, include_claimed=True):
        if shown >= limit:
            break
        event, publisher, reason = describe(message.body)
        out.write('%s  %7s  %-32s %-28s %s\n' % (
            message.id, _age(message.age(at)), event, publisher,
            _short(reason)))
        shown += 1
    if shown < stats.total:
        out.write('(%d shown; use --limit to see more)\n' % shown)
    return shown


@dataclasses.dataclass
class Summary:
    """What a replay did (or, in a dry run, would do)."""

    examined: int = 0
    stored: int = 0
    """Stored in a tenant queue (and removed from the dead-letter queue,
    except ``not_removed`` of them)."""
    not_removed: int = 0
    failed: int = 0
    kept: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter)
    reasons: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter)
    queues: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter)

    def line(self, dry_run: bool) -> str:
        stored = 'would store' if dry_run else 'stored'
        kept = ', '.join('%s %d' % (k, n) for k, n in sorted(self.kept.items()))
        return '%d examined: %s %d, kept %d%s, failed %d' % (
            self.examined, stored, self.stored, sum(self.kept.values()),
            ' (%s)' % kept if kept else '', self.failed)


class Replayer:
    """Replays the dead-letter queue of one configuration."""

    def __init__(self, store: base.Storage, rules: translation.Rules, *,
                 project: str, queue: str, default_ttl: int,
                 max_depth: int | None, out: TextIO,
                 progress_every: int = 1000,
                 clock: Callable[[], float] = time.monotonic,
                 ownership_grace: int = 86400) -> None:
        self.store = store
        self.rules = rules
        self.project = project
        self.queue = queue
        self.default_ttl = default_ttl
        self.max_depth = max_depth
        self.out = out
        self.progress_every = progress_every
        self.clock = clock
        self.ownership_grace = ownership_grace
        # Owners the letters replayed so far taught (also in a dry run).
        self._learned: dict[tuple[str, str], str] = {}

    def run(self, summary: Summary, *, limit: int | None,
            dry_run: bool) -> Summary:
        """Replay up to ``limit`` letters (all when None) into ``summary``.
        Raises :class:`~bridge.storage.errors.Unavailable` when storage
        goes away; ``summary`` then holds what was done before."""
        started = self.clock()
        for message in letters(self.store, self.project, self.queue,
                               include_claimed=False):
            if limit is not None and summary.examined >= limit:
                break
            summary.examined += 1
            self._one(message, summary, dry_run)
            if summary.examined % self.progress_every == 0:
                self.out.write('replay: %s (%.1f s)\n' % (
                    summary.line(dry_run), self.clock() - started))
                self.out.flush()
        return summary

    def _owners(self, body: Any) -> dict[tuple[str, str], str]:
        """What the ownership index holds of the letter's resource, or
        an earlier letter of this run taught."""
        note = notification_of(body)
        key = ownership.index_key(note, self.rules) if note else None
        if key is None:
            return {}
        if key in self._learned:
            return {key: self._learned[key]}
        return {k: e.project
                for k, e in self.store.lookup_owners([key]).items()}

    def _learn(self, fact: Any, dry_run: bool) -> None:
        """Record what a replayed letter teaches the ownership index, as
        the listener would have."""
        if fact is None:
            return
        self._learned[fact.key] = fact.project
        if not dry_run:
            expires = (time.time() + self.ownership_grace if fact.deleted
                       else models.OWNER_LIVE)
            self.store.record_owners([models.Ownership(
                fact.resource_type, fact.resource_id, fact.project,
                expires)])

    def _one(self, message: models.Message, summary: Summary,
             dry_run: bool) -> None:
        outcome = plan(message.body, self.rules, self.default_ttl,
                       self._owners(message.body))
        if isinstance(outcome, Keep):
            summary.kept[outcome.kind] += 1
            summary.reasons[_short(outcome.reason, 120)] += 1
            return
        where = '%s/%s' % (outcome.project, outcome.queue)
        self._learn(outcome.ownership, dry_run)  # as the listener: first
        if not dry_run and not self._store(message, outcome, where, summary):
            return
        summary.stored += 1
        summary.queues[where] += 1

    def _store(self, message: models.Message, outcome: Replay, where: str,
               summary: Summary) -> bool:
        try:
            self.store.post_many([models.Post(outcome.project, outcome.queue,
                                            [outcome.message],
                                            max_depth=self.max_depth)])
        except errors.Unavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad letter must not
            # stop the run: it is reported and stays in the queue.
            summary.failed += 1
            self.out.write('replay: letter %s: storing in %s failed: %s: %s\n'
                           % (message.id, where, type(exc).__name__,
                              _short(str(exc))))
            return False
        try:
            self.store.delete_message(self.project, self.queue, message.id)
        except (errors.MessageIsClaimed, errors.ClaimMismatch):
            summary.not_removed += 1
        return True


def report(summary: Summary, out: TextIO, *, dry_run: bool,
           project: str, queue: str) -> None:
    """The final summary: totals, the busiest target queues, and why the
    letters left in place were kept."""
    out.write('%s%s/%s: %s\n' % ('Dry run, nothing written. '
                                 if dry_run else 'Replayed ', project,
                                 queue, summary.line(dry_run)))
    if summary.not_removed:
        out.write('%d stored letters were claimed meanwhile and stay in the '
                  'dead-letter queue (replaying them again adds no '
                  'duplicate).\n' % summary.not_removed)
    for where, count in summary.queues.most_common(10):
        out.write('  %s %s: %d\n' % ('would store in' if dry_run
                                     else 'stored in', where, count))
    for reason, count in summary.reasons.most_common(10):
        out.write('  kept %d: %s\n' % (count, reason))


def _age(seconds: int) -> str:
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds >= size:
            return '%d%s' % (seconds // size, unit)
    return '%ds' % seconds


def _short(text: str, width: int = 100) -> str:
    text = ' '.join(text.split())
    return text if len(text) <= width else text[:width - 3] + '...'
