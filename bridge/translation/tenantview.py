"""What a tenant sees of a payload.

:class:`TenantView` walks the payload along the family's allow-list
(:mod:`bridge.translation.allowlist`) and builds a new structure of what
is allowed, in one pass:

* a key no allow-list path names is removed with its value, and so is a
  key the deny-list removes (:class:`~bridge.translation.redaction.
  Redactor`: the deny-list wins over the allow-list);
* a kept value is copied through the deny-list (its keys and string
  patterns), a second net inside metadata maps and other whole values;
* a free-text value is scrubbed (:mod:`bridge.translation.scrub`) once the
  whole event is known: the tenant's own addresses are those the walk kept
  under address keys (``ip_address``, ``floating_ip_address``...), and the
  host names those under host keys it removed (``host``, ``node``...) plus
  the host part of ``publisher_id``.

The input is never mutated. This is the hot path of translation: decisions
per (allow-list node, key) are memoized, and leaves are handled inline.
"""

from __future__ import annotations

from typing import Any

from bridge.translation import allowlist, scrub
from bridge.translation.redaction import Redactor
from bridge.translation.ruleset import Redaction

_KEEP = allowlist.KEEP
_SCRUB = allowlist.SCRUB
#: Memo values: the key is removed; removed and its value names a host.
_DROP = object()
_HOST = object()
_MEMO_MAX = 4096
#: Values kept as they are.
_SCALARS = frozenset((int, float, bool, type(None)))


class _Event:
    """What one walk gathers for scrubbing."""

    __slots__ = ('pending', 'addresses', 'hosts')

    def __init__(self) -> None:
        #: (container, key, value): free text to scrub into container[key].
        self.pending: list[tuple[Any, Any, Any]] = []
        self.addresses: list[Any] = []
        self.hosts: list[Any] = []


class TenantView:
    """Applies allow-lists under one :class:`Redaction` policy; safe to
    share between threads (its only state is memos)."""

    def __init__(self, policy: Redaction) -> None:
        self.policy = policy
        self.deny = Redactor(policy)
        self._str = self.deny._str
        self._address_keys = policy.address_keys
        self._host_keys = policy.host_keys
        self._memos: dict[allowlist.Node, dict[Any, Any]] = {}

    def __call__(self, payload: Any, allow: allowlist.Node,
                 publisher_id: str) -> Any:
        """What the tenant sees of ``payload`` under ``allow``."""
        event = _Event()
        kind = type(payload)
        if kind is dict or isinstance(payload, dict):
            out: Any = self._dict(allow, payload, event)
        elif kind is list or isinstance(payload, (list, tuple)):
            out = self._list(allow, payload, event)
        else:
            return None  # a bare value: no field of it can be allowed
        if event.pending:
            self._scrub(event, publisher_id)
        return out

    def _scrub(self, event: _Event, publisher_id: str) -> None:
        hosts = []
        for value in event.hosts:
            if isinstance(value, list):
                hosts.extend(value)
            else:
                hosts.append(value)
        scrubber = scrub.Scrubber(
            self.policy.replacement, own=event.addresses,
            hosts=scrub.host_names(publisher_id, hosts))
        for container, key, value in event.pending:
            container[key] = scrubber(value)

    def _decide(self, node: allowlist.Node, key: Any) -> Any:
        if type(key) is not str:
            if key is None or isinstance(key, (int, float)):
                return _DROP
            raise TypeError('a payload key of type %s cannot be stored as '
                            'JSON' % type(key).__name__)
        host = key.lower() in self._host_keys
        if self.deny.drop_key(key):
            return _HOST if host else _DROP
        child = node.child(key)
        if child is None:
            return _HOST if host else _DROP
        return child

    def _dict(self, node: allowlist.Node, value: dict, event: _Event
              ) -> dict:
        memo = self._memos.get(node)
        if memo is None:
            memo = self._memos.setdefault(node, {})
        keep_str = self._str
        address_keys = self._address_keys
        out: dict[Any, Any] = {}
        for key, item in value.items():
            child = memo.get(key)
            if child is None:
                child = self._decide(node, key)
                if len(memo) < _MEMO_MAX:
                    memo[key] = child
            if child is _DROP:
                continue
            if child is _HOST:
                event.hosts.append(item)
            elif child.mode == _KEEP:  # the frequent case, inline
                kind = type(item)
                if kind is str:
                    out[key] = keep_str(item)
                    if key in address_keys:
                        event.addresses.append(item)
                elif kind in _SCALARS:
                    out[key] = item
                else:
                    out[key] = self.deny(item)
            else:
                self._other(child, key, item, out, event)
        return out

    def _other(self, child: allowlist.Node, key: Any, item: Any,
               out: dict[Any, Any], event: _Event) -> None:
        """A free-text field, or an object or list to walk into."""
        kind = type(item)
        if child.mode == _SCRUB:
            if kind in _SCALARS or item == '':
                out[key] = item
            else:
                kept = self.deny(item)
                out[key] = kept
                event.pending.append((out, key, kept))
        elif kind is dict or isinstance(item, dict):
            kept = self._dict(child, item, event)
            if kept or not item:
                out[key] = kept
        elif kind is list or isinstance(item, (list, tuple)):
            kept = self._list(child, item, event)
            if kept or not item:
                out[key] = kept

    def _list(self, node: allowlist.Node, value: Any, event: _Event
              ) -> list:
        out = []
        for item in value:
            kind = type(item)
            if kind is dict:
                kept: Any = self._dict(node, item, event)
            elif kind is str or kind is int or item is None:
                continue  # a bare value where objects are walked
            elif isinstance(item, dict):
                kept = self._dict(node, item, event)
            elif isinstance(item, (list, tuple)):
                kept = self._list(node, item, event)
            else:
                continue
            if kept or not item:
                out.append(kept)
        return out
