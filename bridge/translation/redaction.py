"""Redaction: remove operator-only data before a tenant sees a payload.

:class:`~bridge.translation.tenantview.TenantView` is what translation
applies: the family's allow-list (everything not allowed is removed),
free-text fields scrubbed, and inside what is kept, the deny-list below
(:class:`Redactor`) as a second net.

The deny-list applies at every depth (dicts inside lists inside dicts...),
driven by the ``redaction`` section of the rules file:

``keys``
    Key names removed with their value, compared case-insensitively:
    compute hosts (``host``, ``node``, ...), storage backend internals
    (``provider_location``, ``locations``, ...), traceback parts...
``key_prefixes``
    Key prefixes removed the same way (``binding:``, ``provider:``,
    ``os-vol-host-attr:``...).
``secret_key_patterns``
    Regular expressions searched (case-insensitively) in key names; a key
    that matches is removed: passwords, tokens, secrets, credentials.
``value_patterns``
    Regular expressions searched (case-sensitively: it is much faster; use
    ``(?i:...)`` where needed) in string values; a matching string is
    replaced, whole, by ``replacement``: tracebacks, source file
    references, command lines with system paths.

Guarantees: the input is never mutated (the result is a new structure that
shares only immutable leaves); keys and values not matched stay as they
were, so tenant data (names, states, their IP addresses) is kept; the
result holds only what JSON can store (tuples become lists; anything else,
e.g. bytes, raises TypeError, which makes the notification unroutable).

Two choices worth knowing:

* Nova's ``host_name`` (versioned) and ``hostname`` (legacy) are the
  *server's* hostname, chosen by the tenant: they stay. ``host`` and
  ``node`` are the compute host: they go.
* Whole strings are replaced rather than edited: cutting a path out of an
  error message is too easy to get wrong.
"""

from __future__ import annotations

from typing import Any

from bridge.translation.ruleset import Redaction

_MAX_DECISIONS = 4096


class Redactor:
    """Applies one :class:`Redaction` policy; safe to share between
    threads (its only state is a memo of per-key decisions)."""

    def __init__(self, policy: Redaction) -> None:
        self.policy = policy
        self._drop: dict[str, bool] = {}

    def drop_key(self, key: str) -> bool:
        """True when ``key`` and its value must be removed."""
        decision = self._drop.get(key)
        if decision is None:
            decision = self._decide(key)
            if len(self._drop) >= _MAX_DECISIONS:
                self._drop.clear()
            self._drop[key] = decision
        return decision

    def _decide(self, key: str) -> bool:
        policy = self.policy
        lowered = key.lower()
        return (lowered in policy.keys
                or lowered.startswith(policy.key_prefixes)
                or (policy.secret_keys is not None
                    and policy.secret_keys.search(key) is not None))

    def __call__(self, value: Any) -> Any:
        """A redacted copy of ``value``."""
        kind = type(value)
        if kind is dict:
            return self._dict(value)
        if kind is list or kind is tuple:
            return self._list(value)
        if kind is str:
            return self._str(value)
        if isinstance(value, dict):
            return self._dict(value)
        if isinstance(value, (list, tuple)):
            return self._list(value)
        if isinstance(value, str):
            return self._str(value)
        if value is None or isinstance(value, (int, float)):
            return value
        raise TypeError('a payload value of type %s cannot be stored as JSON'
                        % type(value).__name__)

    # The walk below is the hot path of translation: plain loops and exact
    # type checks, falling back to __call__ for anything unusual.

    def _dict(self, value: dict) -> dict:
        decisions = self._drop
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if type(key) is str:
                drop = decisions.get(key)
                if drop is None:
                    drop = self.drop_key(key)
                if drop:
                    continue
            elif not (key is None or isinstance(key, (str, int, float))):
                raise TypeError('a payload key of type %s cannot be stored '
                                'as JSON' % type(key).__name__)
            kind = type(item)
            if kind is str:
                out[key] = self._str(item)
            elif kind is dict:
                out[key] = self._dict(item)
            elif kind is list:
                out[key] = self._list(item)
            elif (kind is int or kind is float or kind is bool
                  or item is None):
                out[key] = item
            else:
                out[key] = self(item)
        return out

    def _list(self, value: list | tuple) -> list:
        return [self(item) for item in value]

    def _str(self, value: str) -> str:
        pattern = self.policy.values
        if pattern is not None and pattern.search(value) is not None:
            return self.policy.replacement
        return value


def redact(payload: Any, policy: Redaction) -> Any:
    """A redacted copy of ``payload`` under ``policy``."""
    return Redactor(policy)(payload)

