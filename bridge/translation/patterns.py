"""The two pattern languages of the rules file, compiled once at load.

* **Globs** (``fnmatch`` syntax: ``*``, ``?``, ``[abc]``), matched
  case-sensitively against event types, exchanges and publisher ids.
* **JSONPath** (``jsonpath_ng.ext`` syntax, as in Ceilometer's event
  definitions), e.g. ``$.payload.'nova_object.data'.tenant_id``. A path
  made only of plain field names and wildcards (``*``, ``[*]``) is
  evaluated by direct lookups (the same result as jsonpath_ng, several
  times faster; a test holds them equal); any other path is evaluated by
  jsonpath_ng itself.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from typing import Any, Iterable

from jsonpath_ng import jsonpath as jp
from jsonpath_ng.ext import parse as jsonpath_parse


class PatternError(ValueError):
    """A glob or a JSONPath that cannot be compiled; the message says why."""


class GlobSet:
    """A set of globs; matches a string when any of them does."""

    __slots__ = ('globs', '_regex')

    def __init__(self, globs: Iterable[str]) -> None:
        self.globs = tuple(globs)
        for glob in self.globs:
            check_glob(glob)
        pattern = '|'.join('(?:%s)' % fnmatch.translate(g) for g in self.globs)
        self._regex = re.compile(pattern) if self.globs else None

    def match(self, value: str | None) -> bool:
        """True when ``value`` matches one of the globs (None never does)."""
        if value is None or self._regex is None:
            return False
        return self._regex.match(value) is not None

    def __repr__(self) -> str:
        return 'GlobSet(%r)' % (self.globs,)


def check_glob(glob: object) -> None:
    """Raise :class:`PatternError` unless ``glob`` is a usable glob: a
    non-empty string without whitespace whose ``[`` classes are closed."""
    if not isinstance(glob, str):
        raise PatternError('a glob must be a string, not %s'
                           % type(glob).__name__)
    if not glob:
        raise PatternError('a glob must not be empty')
    if any(c.isspace() for c in glob):
        raise PatternError('glob %r contains whitespace' % glob)
    i = 0
    while i < len(glob):
        if glob[i] == '[':
            # fnmatch: a ']' right after '[' or '[!' is a literal member.
            j = i + 1
            if j < len(glob) and glob[j] == '!':
                j += 1
            if j < len(glob) and glob[j] == ']':
                j += 1
            end = glob.find(']', j)
            if end < 0:
                raise PatternError('glob %r has an unclosed "["' % glob)
            i = end + 1
        elif glob[i] == ']':
            raise PatternError('glob %r has a "]" without "["' % glob)
        else:
            i += 1


class JsonPath:
    """A compiled JSONPath. :meth:`values` lists what it finds."""

    __slots__ = ('text', 'root_field', '_expr', '_steps')

    def __init__(self, text: object) -> None:
        if not isinstance(text, str) or not text.strip():
            raise PatternError('a JSONPath must be a non-empty string')
        self.text = text
        try:
            self._expr = _parse(text)
        except Exception as exc:  # jsonpath_ng raises several types
            raise PatternError('invalid JSONPath %r: %s' % (text, exc)) from exc
        #: The first field the path reads from the document, e.g.
        #: ``'payload'``; None when it does not start with a plain field.
        self.root_field = _root_field(self._expr)
        self._steps = _simple_steps(self._expr)

    def values(self, doc: Any) -> list[Any]:
        """Every value the path finds in ``doc``, in document order."""
        steps = self._steps
        if steps is None:
            return [match.value for match in self._expr.find(doc)]
        current = [doc]
        for step in steps:
            found: list[Any] = []
            for value in current:
                kind = type(value)  # dict first: isinstance(Mapping) is slow
                if step is _WILDCARD:
                    if kind is dict:
                        found.extend(value.values())
                    elif isinstance(value, (list, tuple)):
                        found.extend(value)
                    elif isinstance(value, Mapping):
                        found.extend(value.values())
                elif kind is dict:
                    if step in value:
                        found.append(value[step])
                elif isinstance(value, Mapping) and step in value:
                    found.append(value[step])
            if not found:
                return found
            current = found
        return current

    def __repr__(self) -> str:
        return 'JsonPath(%r)' % self.text


#: A ``*`` / ``[*]`` step of a simple path.
_WILDCARD = object()
#: jsonpath_ng's wildcard node (older releases have none: such paths are
#: then left to jsonpath_ng).
_WILDCARD_NODE = getattr(jp, 'Wildcard', None)


def _simple_steps(expr: Any) -> tuple[Any, ...] | None:
    """The steps (field names and :data:`_WILDCARD`) of a path made only of
    ``$``, single plain fields and wildcards; None for any other path."""
    steps: list[Any] = []
    node = expr
    while isinstance(node, jp.Child):
        step = _step(node.right)
        if step is None:
            return None
        steps.append(step)
        node = node.left
    if not isinstance(node, jp.Root):
        step = _step(node)
        if step is None:
            return None
        steps.append(step)
    steps.reverse()
    return tuple(steps)


def _step(node: Any) -> Any:
    if _single_field(node):
        return node.fields[0]
    if _WILDCARD_NODE is not None and type(node) is _WILDCARD_NODE:
        return _WILDCARD
    return None


def _single_field(node: Any) -> bool:
    return (type(node) is jp.Fields and len(node.fields) == 1
            and node.fields[0] != '*')


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> Any:
    """jsonpath_ng's parse, remembered: parsing costs about a millisecond
    and rules files repeat paths. Parsed paths are never modified."""
    return jsonpath_parse(text)


def _root_field(expr: Any) -> str | None:
    node = expr
    while hasattr(node, 'left'):  # Child, Descendants, Where, ...
        if isinstance(node.left, jp.Root):
            if not isinstance(node, jp.Child):  # e.g. $..x reads anywhere
                return None
            node = node.right
            break
        node = node.left
    if _single_field(node):
        return node.fields[0]
    return None
