"""Reading Prometheus text exposition in tests."""

from __future__ import annotations

import re

_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of the first sample of ``name`` whose labels include
    ``labels``; None when there is none."""
    for line in text.splitlines():
        if not line.startswith(name + '{') and not line.startswith(name + ' '):
            continue
        head, value = line.rsplit(' ', 1)
        found = dict(_LABEL.findall(head))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def total(text: str, name: str, **labels: str) -> float:
    """The sum of every sample of ``name`` whose labels include
    ``labels``."""
    result = 0.0
    for line in text.splitlines():
        if not line.startswith(name + '{') and not line.startswith(name + ' '):
            continue
        head, value = line.rsplit(' ', 1)
        found = dict(_LABEL.findall(head))
        if all(found.get(k) == v for k, v in labels.items()):
            result += float(value)
    return result
