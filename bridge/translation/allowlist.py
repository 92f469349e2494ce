"""Allow-lists: the payload fields a tenant may see, as paths.

A path names a field from the top of the payload, key by key, separated by
dots. Keys that contain dots are quoted (``'nova_object.data'.uuid``); a key
may be a glob (``*`` any key, ``*_id`` any key ending in ``_id``); ``[*]``
after a key says its value is a list (written for the reader: lists are
always walked, so ``port.fixed_ips.ip_address`` and
``port.fixed_ips[*].ip_address`` mean the same, and ``*.id`` also reads
``{"ports": [{"id": ...}, ...]}``).

The value at the end of a path is kept whole (a list of tags, a metadata
object the tenant set); everything not on a path is removed, so a key a
service adds tomorrow reaches no tenant until someone allows it. Paths are
compiled once into a tree (:class:`Node`) that :func:`apply` walks along
with the payload (see :mod:`bridge.translation.tenantview`).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterable

#: How a field at the end of a path is kept.
KEEP = 1
#: Kept, with its text scrubbed (free-text fields: messages, reasons).
SCRUB = 2

_SEGMENT = re.compile(r"""\s*(?:'((?:[^'\\]|\\.)*)'|([^.'\[\]\s]+))(\[\*\])?\s*""")
_MEMO_MAX = 1024


class PathError(ValueError):
    """An allow-list path that cannot be read; the message says why."""


def parse_path(text: object) -> list[str]:
    """The keys (or globs) of a path, in order."""
    if not isinstance(text, str) or not text.strip():
        raise PathError('an allow-list path must be a non-empty string')
    keys: list[str] = []
    pos = 0
    while True:
        match = _SEGMENT.match(text, pos)
        if match is None or match.end() == pos:
            raise PathError('cannot read allow-list path %r at character %d '
                            '(keys separated by ".", quote keys that contain '
                            'dots: \'nova_object.data\'.uuid)' % (text, pos + 1))
        keys.append(match.group(1) if match.group(1) is not None
                    else match.group(2))
        pos = match.end()
        if pos == len(text):
            return keys
        if text[pos] != '.':
            raise PathError('cannot read allow-list path %r at character %d: '
                            'expected "."' % (text, pos + 1))
        pos += 1


def _is_glob(key: str) -> bool:
    return any(c in key for c in '*?[')


class Node:
    """What to keep under one point of the payload."""

    __slots__ = ('mode', 'keys', 'globs', '_memo')

    def __init__(self) -> None:
        self.mode = 0
        self.keys: dict[str, Node] = {}
        self.globs: list[tuple[re.Pattern[str], str, Node]] = []
        self._memo: dict[str, Node | None] = {}

    def add(self, keys: list[str], mode: int) -> None:
        node = self
        for key in keys:
            if _is_glob(key):
                found = next((n for _, g, n in node.globs if g == key), None)
                if found is None:
                    found = Node()
                    node.globs.append((re.compile(fnmatch.translate(key)),
                                       key, found))
                node = found
            else:
                node = node.keys.setdefault(key, Node())
        node.mode = max(node.mode, mode)

    def child(self, key: str) -> 'Node | None':
        """The node for ``key``: its own, a glob's, or their union."""
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = [n for pattern, _, n in self.globs if pattern.match(key)]
        own = self.keys.get(key)
        if own is not None:
            found.insert(0, own)
        result = found[0] if len(found) == 1 else (
            union(found) if found else None)
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[key] = result
        return result

    @property
    def empty(self) -> bool:
        return not (self.mode or self.keys or self.globs)


def union(nodes: Iterable[Node]) -> Node:
    """A node keeping what any of ``nodes`` keeps."""
    merged = Node()
    for node in nodes:
        merged.mode = max(merged.mode, node.mode)
        for key, child in node.keys.items():
            known = merged.keys.get(key)
            merged.keys[key] = child if known is None else union((known,
                                                                 child))
        for pattern, glob, child in node.globs:
            merged.globs.append((pattern, glob, child))
    return merged


def compile_paths(allow: Iterable[str], free_text: Iterable[str] = ()
                  ) -> Node:
    """The tree of ``allow`` paths (kept) and ``free_text`` paths (kept and
    scrubbed). Raises :class:`PathError`."""
    root = Node()
    for text in allow:
        root.add(parse_path(text), KEEP)
    for text in free_text:
        root.add(parse_path(text), SCRUB)
    return root
