"""Delivery of one leased subscription: the messages after its cursor, in
queue order, one at a time.

Guarantees (with the lease held by this notifier):

* **In order, at least once.** Messages are read in marker order from the
  cursor and handed over one at a time; the next is not tried before the
  previous one's outcome is recorded.
* **Durable after each outcome.** ``record_delivery`` runs after every
  message: a delivery moves the cursor onto it; so does a final failure
  (logged at WARNING, or ERROR when retries ran out, and kept in the
  subscription's ``last_error``). A crash therefore re-sends at most the
  message that was in flight. Messages that do not match the
  subscription's ``event_types`` filter are skipped; the cursor moves past
  them with the next record (skipping again after a crash is harmless).
* **Back-off, not busy loops.** A retryable failure leaves the cursor
  where it is, counts the failure, sets ``next_attempt`` from the retry
  policy and releases the lease; the storage hands the subscription out
  again once that time has come.
* **Stops when the lease is lost** (``record_delivery`` returns False):
  another notifier owns the subscription now.

Webhook requests are POSTs of ``{"body", "ttl", "queue_name",
"Message_Type": "Notification", "message_id", "subscription_id"}`` or of
a CloudEvent, signed with the subscription's secret
(:mod:`bridge.notifier.formats`, :mod:`bridge.notifier.signing`); mailto:
subscribers get a text mail (:mod:`bridge.notifier.email`). With
``[notifier] require_confirmation``, an unconfirmed subscriber first gets
one confirmation request and nothing else until confirmed.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import time
from typing import Any, Callable, Iterator

from oslo_log import log

from bridge.notifier import cache
from bridge.notifier import confirmation
from bridge.notifier import email as email_mod
from bridge.notifier import formats
from bridge.notifier import metrics
from bridge.notifier import result as res
from bridge.notifier import retry
from bridge.notifier import subscriber as subscriber_mod
from bridge.notifier import webhook
from bridge.storage import base, models
from bridge.storage import errors

LOG = log.getLogger(__name__)

RUN_BUDGET = 5.0
"""Seconds one run may keep a busy subscription before releasing it, so
other subscriptions get a thread too (it is leased again at once if it
still has work)."""

QUEUE_POLICY_TTL = 10.0
"""Seconds a queue's ``_retry_policy`` is cached."""

PAGE_TTL = 0.05
"""Seconds a page of messages read after some marker is reused by other
subscriptions of the same queue at the same cursor (a queue with 100
subscribers is then read once per new message, not 100 times). Safe:
markers commit in increasing order, so an older page is still a correct
start of what follows that marker; what it lacks is read by a later run."""


_parse_subscriber = functools.lru_cache(maxsize=4096)(subscriber_mod.parse)


@dataclasses.dataclass
class RunSummary:
    """What one run did (for logs and tests)."""

    delivered: int = 0
    failed: int = 0
    """Messages given up on (final failures)."""
    filtered: int = 0
    retry_scheduled: bool = False
    lease_lost: bool = False
    confirmation_sent: bool = False


def matches(options: dict[str, Any], body: Any) -> bool:
    """Whether a message body passes the subscription's ``event_types``
    filter: no filter passes everything; otherwise the body must be an
    object whose ``event_type`` matches one of the globs (case
    sensitive)."""
    patterns = options.get('event_types')
    if not patterns:
        return True
    if isinstance(patterns, str):
        patterns = [patterns]
    event_type = body.get('event_type') if isinstance(body, dict) else None
    if not isinstance(event_type, str):
        return False
    return any(isinstance(p, str) and fnmatch.fnmatchcase(event_type, p)
               for p in patterns)


class Deliverer:
    """Runs deliveries for one notifier (``owner``); thread safe, shared by
    the notifier's threads. ``should_stop`` is polled between messages:
    when it turns true the run records where it is, releases the lease and
    returns."""

    def __init__(self, conf: Any, storage: base.Storage, owner: str, *,
                 webhooks: webhook.WebhookSender,
                 mailer: email_mod.EmailSender,
                 should_stop: Callable[[], bool] = lambda: False,
                 clock: Callable[[], float] = time.time) -> None:
        self.opts = conf.notifier
        self.signing = conf.signed_url
        self.storage = storage
        self.owner = owner
        self.webhooks = webhooks
        self.mailer = mailer
        self.should_stop = should_stop
        self.clock = clock
        self._metadata: cache.TtlCache[dict] = cache.TtlCache(
            QUEUE_POLICY_TTL)
        self._pages: cache.TtlCache[list[models.Message]] = cache.TtlCache(
            PAGE_TTL)

    # -- one run ---------------------------------------------------------

    def run(self, sub: models.Subscription) -> RunSummary:
        """Deliver what ``sub`` has pending, then release it."""
        summary = RunSummary()
        try:
            target = _parse_subscriber(sub.subscriber)
        except ValueError as exc:
            LOG.error('Subscription %s of queue %s/%s has an unusable '
                      'subscriber: %s', sub.id, sub.project, sub.queue, exc)
            now = self.clock()
            self._record(sub, summary, release=True, last_error=str(exc),
                         last_error_at=now,
                         next_attempt=now + self.opts.max_retry_delay)
            return summary
        run = _Run(self, sub, target, summary)
        if not sub.confirmed:
            run.handle_unconfirmed()
        else:
            run.deliver_pending()
        return summary

    # -- helpers used by _Run ----------------------------------------------

    def policy(self, sub: models.Subscription) -> retry.RetryPolicy:
        return retry.RetryPolicy.from_options(
            self.opts, self._queue_metadata(sub.project, sub.queue),
            sub.options)

    def _queue_metadata(self, project: str, queue: str) -> dict:
        def load() -> dict:
            try:
                return self.storage.get_queue(project, queue)
            except errors.NotFound:
                return {}
        return self._metadata.get((project, queue), load)

    def page(self, sub: models.Subscription, cursor: int,
             limit: int) -> list[models.Message]:
        """Up to ``limit`` messages of the queue after ``cursor``, in
        marker order (delayed and claimed ones too: subscribers get every
        message when it is posted, as in Zaqar)."""
        return self._pages.get(
            (sub.project, sub.queue, cursor, limit),
            lambda: self.storage.list_messages(
                sub.project, sub.queue, marker=str(cursor), limit=limit,
                echo=True, include_claimed=True,
                include_delayed=True).messages)

    def _record(self, sub: models.Subscription, summary: RunSummary, *,
                release: bool, **changes: Any) -> bool:
        """Write ``sub`` with ``changes`` (Subscription field names)
        applied, as a full state, so nothing recorded before is lost;
        False if the lease was lost."""
        def get(name: str) -> Any:
            return changes[name] if name in changes else getattr(sub, name)
        outcome = models.DeliveryOutcome(
            cursor=get('cursor'), failures=get('failures'),
            next_attempt=get('next_attempt'), success_at=get('last_success'),
            error=get('last_error'), error_at=get('last_error_at'),
            confirmation_sent=changes.get('confirmation_sent'))
        if self.storage.record_delivery(sub, self.owner, outcome,
                                        release=release):
            return True
        LOG.info('Lease on subscription %s was lost; another notifier '
                 'continues its delivery', sub.id)
        summary.lease_lost = True
        return False


class _Run:
    """The state of one run over one subscription."""

    def __init__(self, deliverer: Deliverer, sub: models.Subscription,
                 target: subscriber_mod.Subscriber,
                 summary: RunSummary) -> None:
        self.d = deliverer
        self.sub = sub
        """The subscription as recorded so far in this run."""
        self.target = target
        self.kind = metrics.kind(target)
        self.summary = summary
        self.policy = deliverer.policy(sub)

    def record(self, release: bool = False, **changes: Any) -> bool:
        ok = self.d._record(self.sub, self.summary, release=release,
                            **changes)
        if ok:
            self.sub = dataclasses.replace(self.sub, **changes)
        return ok

    def pages(self) -> Iterator[tuple[list[models.Message], bool]]:
        """Pages of messages after the cursor, each with whether it is the
        last of this run: until caught up, or the run budget is spent."""
        started = time.monotonic()
        limit = self.d.opts.batch_size
        while True:
            messages = self.d.page(self.sub, self.sub.cursor, limit)
            last = (len(messages) < limit
                    or time.monotonic() - started > RUN_BUDGET)
            if messages:
                yield messages, last
            if last:
                return

    # -- messages ----------------------------------------------------------

    def deliver_pending(self) -> None:
        """Deliver page after page; release the lease at the end (with the
        last message's record when possible, saving a write)."""
        skipped_to: int | None = None
        released = False
        for messages, last_page in self.pages():
            for i, msg in enumerate(messages):
                if self.d.should_stop():
                    break
                if not matches(self.sub.options, msg.body):
                    skipped_to = msg.marker
                    self.summary.filtered += 1
                    continue
                if skipped_to is not None:
                    # Written by this message's record (which moves the
                    # cursor further anyway) or by a retry record.
                    self.sub = dataclasses.replace(self.sub,
                                                   cursor=skipped_to)
                    skipped_to = None
                released = last_page and i == len(messages) - 1
                if not self.handle(msg, release=released):
                    return  # backing off (released) or lease lost
            else:
                continue
            released = False
            break
        if released:
            return
        changes: dict[str, Any] = {'next_attempt': 0.0}
        if skipped_to is not None:
            changes['cursor'] = skipped_to
        self.record(release=True, **changes)

    def handle(self, msg: models.Message, release: bool = False) -> bool:
        """Send one message and record its outcome (releasing the lease
        with ``release``); False when the run must end (retry scheduled
        and lease released, or lease lost)."""
        result = self.timed(self.send, msg)
        now = self.d.clock()
        if result.delivered:
            self.summary.delivered += 1
            metrics.delivered(self.kind, now - msg.created)
            return self.record(release=release, cursor=msg.marker,
                               failures=0, next_attempt=0.0,
                               last_success=now)
        failures = self.sub.failures + 1
        if result.outcome is res.Outcome.RETRY and \
                not self.policy.gives_up(failures):
            delay = self.policy.delay(failures, result.retry_after)
            LOG.info('Delivery of message %s to subscription %s failed '
                     '(%s); retry %d of %d in %.1fs', msg.id, self.sub.id,
                     result.reason, failures, self.policy.max_retries, delay)
            self.summary.retry_scheduled = True
            # The cursor stays on the message before: the filtered-out
            # skip carried in self.sub (if any) is kept.
            self.record(release=True, failures=failures,
                        next_attempt=now + delay, last_error=result.reason,
                        last_error_at=now)
            return False
        self.summary.failed += 1
        metrics.failed(self.kind, gave_up=result.outcome is res.Outcome.RETRY)
        if result.outcome is res.Outcome.RETRY:
            reason = 'gave up after %d attempt%s: %s' % (
                failures, '' if failures == 1 else 's', result.reason)
            LOG.error('Message %s of queue %s/%s not delivered to '
                      'subscription %s (%s): %s', msg.id, self.sub.project,
                      self.sub.queue, self.sub.id, self.sub.subscriber,
                      reason)
        else:
            reason = result.reason
            LOG.warning('Message %s of queue %s/%s not delivered to '
                        'subscription %s (%s): %s', msg.id,
                        self.sub.project, self.sub.queue, self.sub.id,
                        self.sub.subscriber, reason)
        return self.record(release=release, cursor=msg.marker, failures=0,
                           next_attempt=0.0, last_error=reason,
                           last_error_at=now)

    def timed(self, send: Callable[..., res.Result], *args: Any
              ) -> res.Result:
        """``send(*args)``, counted in the metrics."""
        started = time.monotonic()
        result = send(*args)
        metrics.attempt(self.kind, result, time.monotonic() - started)
        return result

    def send(self, msg: models.Message) -> res.Result:
        if isinstance(self.target, subscriber_mod.Email):
            body = msg.body
            event_type = body.get('event_type') \
                if isinstance(body, dict) else None
            subject = email_mod.subject_for(
                self.sub.options.get('subject'), self.target.subject,
                event_type if isinstance(event_type, str) else None,
                self.sub.queue)
            return self.d.mailer.deliver(
                self.target.address, subject,
                email_mod.text_body(self.sub.queue, msg.id, body))
        payload = formats.message_body(self.sub, msg)
        return self.d.webhooks.deliver(
            self.sub.subscriber, payload,
            formats.headers(self.sub, payload, msg.id, self.d.clock()))

    # -- confirmation ------------------------------------------------------

    def handle_unconfirmed(self) -> None:
        """An unconfirmed subscription gets nothing but its confirmation
        request (sent once, when ``require_confirmation`` is on). One that
        was unconfirmed by its tenant, or needs no request, is marked as
        having had it, so it shows no work until confirmed again."""
        if self.sub.confirmation_sent or not self.d.opts.require_confirmation:
            # Confirming starts delivery from the newest message: move past
            # what is there now, which will never be sent.
            messages = self.d.page(self.sub, self.sub.cursor,
                                   self.d.opts.batch_size)
            changes = {'cursor': messages[-1].marker} if messages else {}
            self.record(release=True, confirmation_sent=True, **changes)
            return
        result = self.timed(self.send_confirmation)
        now = self.d.clock()
        if result.delivered:
            self.summary.confirmation_sent = True
            self.record(release=True, confirmation_sent=True, failures=0,
                        next_attempt=0.0)
            return
        failures = self.sub.failures + 1
        if result.outcome is res.Outcome.RETRY and \
                not self.policy.gives_up(failures):
            self.summary.retry_scheduled = True
            delay = self.policy.delay(failures, result.retry_after)
            self.record(release=True, failures=failures,
                        next_attempt=now + delay,
                        last_error='confirmation request: ' + result.reason,
                        last_error_at=now)
            return
        LOG.warning('Confirmation request to subscription %s (%s) of queue '
                    '%s/%s failed for good: %s', self.sub.id,
                    self.sub.subscriber, self.sub.project, self.sub.queue,
                    result.reason)
        self.record(release=True, confirmation_sent=True, failures=0,
                    next_attempt=0.0,
                    last_error='confirmation request: ' + result.reason,
                    last_error_at=now)

    def send_confirmation(self) -> res.Result:
        endpoint = self.d.opts.public_endpoint
        signed = confirmation.signed_headers(
            self.d.signing.secret_key, self.d.signing.default_expiry,
            self.sub, self.d.clock())
        if isinstance(self.target, subscriber_mod.Email):
            return self.d.mailer.deliver(
                self.target.address, confirmation.email_subject(self.sub),
                confirmation.email_text(endpoint, self.sub,
                                        self.target.address, signed))
        now = self.d.clock()
        payload = formats.confirmation_body(
            self.sub, confirmation.webhook_document(endpoint, self.sub,
                                                    signed), now)
        return self.d.webhooks.deliver(
            self.sub.subscriber, payload,
            formats.headers(self.sub, payload,
                            formats.confirmation_id(self.sub), now))
