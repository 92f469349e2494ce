"""Subscription input validation: pure functions that raise
:class:`~bridge.api.validation.ValidationError`, like the rest of
:mod:`bridge.api.validation`.

It holds the checks of subscription bodies: the subscriber URI (webhook or
``mailto:``, and the SSRF guard on webhook hosts), ttl, options (the
``event_types`` globs, ``subject`` and ``_retry_policy``), PATCH changes
and confirmation, with their limits in :class:`SubscriptionLimits`, built
once from the ``[limits]`` and ``[notifier]`` options.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

from oslo_config import cfg

from bridge.api.validation import ValidationError, int_field, is_int
from bridge.notifier import formats
from bridge.notifier import subscriber

#: Zaqar's fixed floor for subscription time to live.
MIN_SUBSCRIPTION_TTL = 60
SUBSCRIPTION_FIELDS = frozenset(('subscriber', 'ttl', 'options'))
# _retry_policy keys the notifier reads (bridge/notifier/retry.py): Zaqar's,
# plus bridge's plain ``max_retries``.
_RETRY_COUNT_KEYS = frozenset(('max_retries', 'retries_with_no_delay',
                               'minimum_delay_retries',
                               'maximum_delay_retries'))
_RETRY_DELAY_KEYS = frozenset(('minimum_delay', 'maximum_delay'))
_RETRY_POLICY_KEYS = _RETRY_COUNT_KEYS | _RETRY_DELAY_KEYS | frozenset(
    ('retry_backoff_function', 'ignore_subscription_override'))


@dataclasses.dataclass(frozen=True)
class SubscriptionLimits:
    """Subscription limits and defaults: the ``[limits]`` subscription
    options and the ``[notifier]`` options the API enforces."""

    max_per_page: int
    default_per_page: int
    max_subscriber_length: int
    max_options: int
    max_ttl: int
    default_ttl: int
    allowed_hosts: tuple[str, ...]
    """``[notifier] allowed_subscriber_hosts`` (host names or CIDRs)."""
    require_confirmation: bool

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> SubscriptionLimits:
        limits, notifier = conf.limits, conf.notifier
        return cls(max_per_page=limits.max_subscriptions_per_page,
                   default_per_page=limits.default_subscriptions_per_page,
                   max_subscriber_length=limits.max_subscriber_length,
                   max_options=limits.max_subscription_options,
                   max_ttl=notifier.max_subscription_ttl,
                   default_ttl=notifier.default_subscription_ttl,
                   allowed_hosts=tuple(notifier.allowed_subscriber_hosts),
                   require_confirmation=notifier.require_confirmation)


@dataclasses.dataclass(frozen=True)
class NewSubscription:
    subscriber: str
    ttl: int
    options: dict[str, Any]


def subscriber_uri(value: Any, limits: SubscriptionLimits) -> str:
    """A subscriber URI bridge may deliver to: ``http(s)://`` or
    ``mailto:``, and for webhooks a host the SSRF guard does not refuse
    (this resolves the host name with the system resolver).

    A literal internal address, or a name resolving to one, is refused. A
    name that does not resolve (yet, or not from the API's network) is
    accepted, as Zaqar does: the notifier checks every address it connects
    to, so such a subscription can never reach a forbidden address."""
    if not isinstance(value, str) or not value:
        raise ValidationError('"subscriber" must be a non-empty string.')
    if len(value) > limits.max_subscriber_length:
        raise ValidationError('"subscriber" may not be longer than %d '
                              'characters.' % limits.max_subscriber_length)
    try:
        target = subscriber.parse(value)
        if isinstance(target, subscriber.Webhook):
            subscriber.check_destination(target.host, target.port,
                                         list(limits.allowed_hosts))
    except subscriber.Unresolved:
        pass  # checked again at delivery, on every connection
    except ValueError as exc:  # DestinationRefused is a ValueError
        raise ValidationError(str(exc)) from None
    return value


def subscription_ttl(value: Any, limits: SubscriptionLimits) -> int:
    return int_field(value, 'ttl', MIN_SUBSCRIPTION_TTL, limits.max_ttl)


def _retry_policy(policy: Any) -> None:
    if not isinstance(policy, dict):
        raise ValidationError('"options._retry_policy" must be an object.')
    unknown = sorted(set(policy) - _RETRY_POLICY_KEYS)
    if unknown:
        raise ValidationError('"options._retry_policy" has unknown keys: %s '
                              '(known: %s).' % (', '.join(unknown), ', '.join(
                                  sorted(_RETRY_POLICY_KEYS))))
    for key, value in policy.items():
        if key in _RETRY_COUNT_KEYS and not (is_int(value) and value >= 0):
            raise ValidationError('"_retry_policy.%s" must be a non-negative '
                                  'integer.' % key)
        if key in _RETRY_DELAY_KEYS and not (
                isinstance(value, (int, float)) and not isinstance(value, bool)
                and value >= 0):
            raise ValidationError('"_retry_policy.%s" must be a non-negative '
                                  'number of seconds.' % key)
    if not isinstance(policy.get('ignore_subscription_override', False), bool):
        raise ValidationError('"_retry_policy.ignore_subscription_override" '
                              'must be true or false.')
    if not isinstance(policy.get('retry_backoff_function', ''), str):
        raise ValidationError('"_retry_policy.retry_backoff_function" must be '
                              'a string.')


def subscription_options(value: Any, limits: SubscriptionLimits
                         ) -> dict[str, Any]:
    """A JSON object; the keys bridge acts on must be well formed:
    ``event_types`` (list of glob strings), ``subject`` (one line of text),
    ``_retry_policy`` (see :data:`_RETRY_POLICY_KEYS`)."""
    if not isinstance(value, dict):
        raise ValidationError('"options" must be a JSON object.')
    if len(json.dumps(value)) > limits.max_options:
        raise ValidationError('"options" may not be larger than %d bytes of '
                              'JSON.' % limits.max_options)
    event_types = value.get('event_types')
    if event_types is not None and not (
            isinstance(event_types, list)
            and all(isinstance(t, str) and t for t in event_types)):
        raise ValidationError('"options.event_types" must be a list of event '
                              'type patterns (non-empty strings, * and ? '
                              'as wildcards).')
    subject = value.get('subject')
    if subject is not None and not (isinstance(subject, str) and not any(
            c in subject for c in '\r\n\0')):
        raise ValidationError('"options.subject" must be a string without '
                              'line breaks.')
    if '_retry_policy' in value:
        _retry_policy(value['_retry_policy'])
    _webhook_options(value)
    return value


def _webhook_options(value: dict[str, Any]) -> None:
    fmt = value.get(formats.FORMAT_OPTION)
    if formats.FORMAT_OPTION in value and fmt not in formats.FORMATS:
        raise ValidationError('"options.%s" must be one of: %s.' % (
            formats.FORMAT_OPTION, ', '.join(formats.FORMATS)))
    if formats.STANDARD_WEBHOOKS_OPTION in value and not isinstance(
            value[formats.STANDARD_WEBHOOKS_OPTION], bool):
        raise ValidationError('"options.%s" must be true or false.'
                              % formats.STANDARD_WEBHOOKS_OPTION)


def options_fit(subscriber_uri: str, options: dict[str, Any]) -> None:
    """Options that shape webhook requests are refused for ``mailto:``
    subscribers, where they would do nothing."""
    used = sorted(formats.WEBHOOK_OPTIONS & set(options))
    if used and subscriber_uri[:7].lower() == 'mailto:':
        raise ValidationError('"options.%s" only applies to webhook '
                              '(http/https) subscribers.' % used[0])


def new_subscription(document: Any,
                     limits: SubscriptionLimits) -> NewSubscription:
    """``{"subscriber": URI, "ttl": N, "options": {...}}``: ttl and options
    may be missing or null (default ttl, no options). Other keys are
    ignored, as Zaqar does."""
    if not isinstance(document, dict):
        raise ValidationError('The subscription must be a JSON object.')
    if 'subscriber' not in document:
        raise ValidationError('Missing parameter "subscriber" in body.')
    ttl = document.get('ttl')
    options = document.get('options')
    new = NewSubscription(
        subscriber=subscriber_uri(document['subscriber'], limits),
        ttl=limits.default_ttl if ttl is None
        else subscription_ttl(ttl, limits),
        options={} if options is None
        else subscription_options(options, limits))
    options_fit(new.subscriber, new.options)
    return new


def subscription_changes(document: Any,
                         limits: SubscriptionLimits) -> dict[str, Any]:
    """A PATCH body: a non-empty object of ``subscriber``, ``ttl`` and/or
    ``options`` -> the validated changes (same names, as keyword arguments
    of ``Storage.update_subscription``)."""
    if not isinstance(document, dict) or not document:
        raise ValidationError('The update must be a non-empty JSON object '
                              'of "subscriber", "ttl" and/or "options".')
    unknown = sorted(set(document) - SUBSCRIPTION_FIELDS)
    if unknown:
        raise ValidationError('A subscription has no field(s) %s; only '
                              '"subscriber", "ttl" and "options" can change.'
                              % ', '.join('"%s"' % k for k in unknown))
    checks: dict[str, Callable[[Any, SubscriptionLimits], Any]] = {
        'subscriber': subscriber_uri, 'ttl': subscription_ttl,
        'options': subscription_options}
    changes = {key: checks[key](value, limits)
               for key, value in document.items()}
    if 'subscriber' in changes and 'options' in changes:
        options_fit(changes['subscriber'], changes['options'])
    return changes


def confirmation(document: Any) -> bool:
    """``{"confirmed": true|false}``."""
    value = document.get('confirmed') if isinstance(document, dict) else None
    if not isinstance(value, bool):
        raise ValidationError('"confirmed" must be true or false.')
    return value
