"""The batch notification endpoint: bus messages in, stored messages out.

Delivery guarantee
------------------
The listener is built with ``allow_requeue=True``, so oslo.messaging acks a
batch only after :meth:`BridgeEndpoint.handle` returns ``None`` (handled)
and requeues it when it returns ``REQUEUE``. This endpoint returns ``None``
only once every notification of the batch is durably stored: in its
tenant's queue, or in the operator dead-letter queue when it cannot be
attributed. A redelivered notification is stored once, because every
message is posted with the notification's ``message_id`` as its dedup key.

Failure handling
----------------
* Storage unavailable: pause ``requeue_delay`` seconds (no hot loop against
  a database that is down), then requeue the whole batch. Whatever part was
  already written is deduplicated on redelivery.
* Any other storage failure (e.g. one oversized or unstorable event): the
  batch is written again one queue at a time, and the events of a queue that
  still fails go to the dead-letter queue with the error as reason. An event
  that cannot be stored even there is logged at ERROR with its id and
  dropped, so one poison message cannot wedge the listener.
* Translation never raises (:func:`bridge.translation.translate`).

Owners
------
Each batch is translated with one ownership index lookup and, when it
teaches the index something new, one write, made before the batch is
stored (see :mod:`bridge.listeners.ownership`). Storage unavailable during either
requeues the batch like a failed store; any other failure to record is
logged and the batch is stored anyway (the index is an aid to owner
resolution; a later event of the resource records it again).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

import oslo_messaging
from oslo_log import log

from bridge import translation
from bridge.listeners import ownership
from bridge.listeners import tally as tally_mod
from bridge.storage import base, errors, models
from bridge.wakeups import Publisher
from bridge.wakeups.base import NullPublisher

LOG = log.getLogger(__name__)

REQUEUE = oslo_messaging.NotificationResult.REQUEUE

#: Priorities bridge consumes. oslo.messaging binds a routing key only for
#: the priorities an endpoint implements: without ``error``, Nova's and
#: Heat's failure events would never arrive. ``sample`` is telemetry, not
#: an event, and is left to Ceilometer.
PRIORITIES = ('audit', 'debug', 'info', 'warn', 'error', 'critical')


class Counters:
    """What the endpoint did, for logs and tests. Thread safe."""

    FIELDS = ('stored', 'dropped', 'dead_lettered', 'evicted', 'requeued',
              'lost')

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self._local = threading.local()

    def add(self, **counts: int) -> None:
        with self._lock:
            self._counts.update(counts)
        mine = getattr(self._local, 'batch', None)
        if mine is not None:
            mine.update(counts)

    @contextlib.contextmanager
    def batch(self) -> Iterator[collections.Counter[str]]:
        """Also count, in the counter yielded, what this thread adds until
        the block ends (one batch's share, which the store process reports
        to its listener)."""
        mine: collections.Counter[str] = collections.Counter()
        self._local.batch = mine
        try:
            yield mine
        finally:
            self._local.batch = None

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {f: self._counts[f] for f in self.FIELDS}


def to_notification(priority: str, message: dict[str, Any]
                    ) -> translation.Notification:
    """The listener's message dict as a :class:`translation.Notification`.
    A missing ``message_id`` is replaced by a digest of the message, so a
    redelivery is still recognised."""
    ctxt = message.get('ctxt') or {}
    if not isinstance(ctxt, dict):  # the fake driver hands a RequestContext
        ctxt = ctxt.to_dict() if hasattr(ctxt, 'to_dict') else {}
    metadata = message.get('metadata') or {}
    payload = message.get('payload')
    message_id = metadata.get('message_id') or _digest(message)
    return translation.Notification(
        event_type=str(message.get('event_type') or ''),
        publisher_id=str(message.get('publisher_id') or ''),
        priority=priority,
        payload=payload if isinstance(payload, dict) else {'value': payload},
        ctxt=ctxt,
        message_id=str(message_id),
        timestamp=str(metadata.get('timestamp') or ''),
    )


def _digest(message: dict[str, Any]) -> str:
    raw = json.dumps(message, sort_keys=True, default=str).encode()
    return 'sha256-' + hashlib.sha256(raw).hexdigest()[:32]


class BatchEndpoint:
    """What oslo.messaging calls: the method named after each priority
    (see ``PRIORITIES``), which hands the batch to :meth:`handle`."""

    def handle(self, priority: str, messages: list[dict]) -> str | None:
        raise NotImplementedError

    def audit(self, messages: list[dict]) -> str | None:
        return self.handle('audit', messages)

    def debug(self, messages: list[dict]) -> str | None:
        return self.handle('debug', messages)

    def info(self, messages: list[dict]) -> str | None:
        return self.handle('info', messages)

    def warn(self, messages: list[dict]) -> str | None:
        return self.handle('warn', messages)

    def error(self, messages: list[dict]) -> str | None:
        return self.handle('error', messages)

    def critical(self, messages: list[dict]) -> str | None:
        return self.handle('critical', messages)


class BridgeEndpoint(BatchEndpoint):
    """Batch endpoint for :func:`oslo_messaging.get_batch_notification_listener`.

    One instance serves every priority; it is called from the listener's
    executor threads, possibly for several batches at once.
    """

    def __init__(self, storage: base.Storage, rules: translation.Rules, *,
                 default_ttl: int, dead_letter_project: str,
                 dead_letter_queue: str, dead_letter_ttl: int,
                 max_queue_depth: int, requeue_delay: float,
                 ownership_grace: int = 86400,
                 wakeups: Publisher | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.storage = storage
        self.wakeups = wakeups or NullPublisher()
        self.rules = rules
        self.default_ttl = default_ttl
        self.dead_letter_project = dead_letter_project
        self.dead_letter_queue = dead_letter_queue
        self.dead_letter_ttl = dead_letter_ttl
        self.max_depth = max_queue_depth or None
        self.requeue_delay = requeue_delay
        self.counters = Counters()
        self.owners = ownership.OwnerIndex(storage, ownership_grace)
        self._sleep = sleep

    def use_rules(self, rules: translation.Rules) -> None:
        """Translate the batches that start from now on with ``rules``."""
        self.rules = rules

    # -- the work ---------------------------------------------------------

    def handle(self, priority: str, messages: list[dict]) -> str | None:
        """Store one batch of ``priority``; None once it is durably
        stored, ``REQUEUE`` when storage is unavailable."""
        notes = [to_notification(priority, m) for m in messages]
        tally = tally_mod.Tally(self.rules, notes)
        try:
            return self._store(notes, tally)
        finally:
            tally.flush()

    def _store(self, notes: list[translation.Notification],
               tally: tally_mod.Tally) -> str | None:
        try:
            results, index = self.owners.translate(notes, self.rules)
        except errors.Unavailable as exc:
            return self._requeue(tally, len(notes), exc)
        posts, dropped = self._group(results, tally)
        try:
            self.owners.record(index)
        except errors.Unavailable as exc:
            return self._requeue(tally, len(notes), exc)
        except Exception:  # noqa: BLE001 - the index is an aid, see above
            LOG.exception('Recording the owners of a batch of %d '
                          'notifications failed', len(notes))
        rescued = 0
        try:
            evicted = self.storage.post_many(posts)
        except errors.Unavailable as exc:
            return self._requeue(tally, len(notes), exc)
        except Exception:  # noqa: BLE001 - isolate the event that fails
            LOG.exception('Storing a batch of %d notifications failed; '
                          'storing its queues one by one', len(notes))
            try:
                evicted, rescued = self._store_one_by_one(posts, tally)
            except errors.Unavailable as exc:
                return self._requeue(tally, len(notes), exc)
        # Committed: wake the API's long polls and socket subscriptions.
        self.wakeups.publish((p.project, p.queue) for p in posts)
        stored = sum(len(p.messages) for p in posts
                     if not self._is_dead_letter(p)) - rescued
        dead = sum(len(p.messages) for p in posts if self._is_dead_letter(p))
        self.counters.add(stored=stored, dropped=dropped,
                          dead_lettered=dead, evicted=evicted)
        if evicted:
            LOG.info('Evicted %d old messages from queues deeper than %s',
                     evicted, self.max_depth)
        return None

    def _group(self, results: Iterable[tuple[translation.Notification, Any]],
               tally: tally_mod.Tally) -> tuple[list[models.Post], int]:
        grouped: dict[tuple[str, str], list[models.NewMessage]] = {}
        dead: list[models.NewMessage] = []
        dropped = 0
        for note, result in results:
            if isinstance(result, translation.Routed):
                grouped.setdefault((result.project_id, result.queue), []).append(
                    models.NewMessage(body=result.body,
                                    ttl=result.ttl or self.default_ttl,
                                    dedup_key=result.dedup_key))
                tally.outcome(note.message_id, 'stored')
            elif isinstance(result, translation.Dropped):
                dropped += 1
                tally.outcome(note.message_id, 'dropped')
            else:
                tally.outcome(note.message_id, 'dead_lettered')
                LOG.debug('Notification %s is unroutable: %s',
                          note.message_id, result.reason)
                dead.append(self._dead_letter(note.message_id, result.reason,
                                              result.body))
        posts = [models.Post(project, queue, msgs, max_depth=self.max_depth)
                 for (project, queue), msgs in grouped.items()]
        if dead:
            posts.append(models.Post(self.dead_letter_project,
                                   self.dead_letter_queue, dead,
                                   max_depth=self.max_depth))
        return posts, dropped

    def _dead_letter(self, message_id: str, reason: str,
                     notification: dict[str, Any]) -> models.NewMessage:
        return models.NewMessage(
            body={'reason': reason, 'notification': notification},
            ttl=self.dead_letter_ttl, dedup_key=message_id)

    def _is_dead_letter(self, post: models.Post) -> bool:
        return (post.project == self.dead_letter_project
                and post.queue == self.dead_letter_queue)

    def _store_one_by_one(self, posts: Sequence[models.Post],
                          tally: tally_mod.Tally) -> tuple[int, int]:
        """Write each queue's share alone; a tenant share that still fails
        (other than Unavailable) is dead-lettered message by message.
        Return (evicted, tenant messages rescued)."""
        evicted = rescued = 0
        for post in posts:
            try:
                evicted += self.storage.post_many([post])
            except errors.Unavailable:
                raise
            except Exception as exc:  # noqa: BLE001
                for msg in post.messages:
                    tally.outcome(msg.dedup_key,
                                  self._rescue(post, msg, exc))
                if not self._is_dead_letter(post):
                    rescued += len(post.messages)
        return evicted, rescued

    def _rescue(self, post: models.Post, msg: models.NewMessage,
                exc: Exception) -> str:
        """Dead-letter one message that its tenant queue refused: with its
        body if possible, else with its address only. Return the outcome
        (``dead_lettered`` or ``lost``)."""
        reason = 'storing in %s/%s failed: %s' % (
            post.project, post.queue, type(exc).__name__)
        where = {'project_id': post.project, 'queue': post.queue}
        details: tuple[dict[str, Any], ...] = (
            {**where, 'message': msg.body}, where)
        if isinstance(exc, errors.KeyUnavailable):
            # The queue wants its bodies encrypted: never in clear here.
            LOG.error('Cannot store in encrypted queue %s/%s: %s',
                      post.project, post.queue, exc)
            details = (where,)
        for detail in details:
            letter = self._dead_letter(msg.dedup_key or '', reason, detail)
            try:
                self.storage.post_many([models.Post(
                    self.dead_letter_project, self.dead_letter_queue,
                    [letter])])
                self.counters.add(dead_lettered=1)
                return 'dead_lettered'
            except errors.Unavailable:
                raise
            except Exception:  # noqa: BLE001
                continue
        self.counters.add(lost=1)
        LOG.error('Dropping notification %s for %s/%s: it cannot be stored, '
                  'not even in the dead-letter queue',
                  msg.dedup_key, post.project, post.queue)
        return 'lost'

    def _requeue(self, tally: tally_mod.Tally, count: int,
                 exc: Exception) -> str:
        LOG.warning('Storage unavailable (%s); requeueing %d notifications '
                    'in %.1f s', exc, count, self.requeue_delay)
        self.counters.add(requeued=count)
        tally.requeue_all()
        self._sleep(self.requeue_delay)
        return REQUEUE
