"""Helpers for translation tests: the 49 notification samples
(tests/fixtures/notifications) and the shipped default rules."""

from __future__ import annotations

import copy
import glob
import json
import os
from typing import Any

import yaml

from bridge import translation

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'fixtures',
                        'notifications')


def _load() -> dict[str, dict[str, Any]]:
    samples = {}
    for path in sorted(glob.glob(os.path.join(FIXTURES, '*.json'))):
        with open(path, encoding='utf-8') as f:
            samples[os.path.basename(path)[:-len('.json')]] = json.load(f)
    return samples


#: name (file name without .json) -> sample, loaded once.
SAMPLES = _load()
NAMES = sorted(SAMPLES)


def sample(name: str) -> dict[str, Any]:
    """A deep copy of one sample, safe to modify."""
    return copy.deepcopy(SAMPLES[name])


def service_of(name: str) -> str:
    """The service a sample's file name starts with (``nova__...``)."""
    return name.split('__', 1)[0]


def notification(name_or_sample: str | dict[str, Any], *,
                 exchange: str | None = None, **changes: Any
                 ) -> translation.Notification:
    """A sample as the listener hands it over (priority lower-cased)."""
    s = (SAMPLES[name_or_sample] if isinstance(name_or_sample, str)
         else name_or_sample)
    fields = dict(event_type=s['event_type'], publisher_id=s['publisher_id'],
                  priority=s['priority'].lower(), payload=s['payload'],
                  ctxt=s['ctxt'], message_id=s['message_id'],
                  timestamp=s['timestamp'], exchange=exchange)
    fields.update(changes)
    return translation.Notification(**fields)


def _default_doc() -> dict[str, Any]:
    with open(translation.default_rules_path(), encoding='utf-8') as f:
        return yaml.safe_load(f)


_DEFAULT_DOC = _default_doc()


def default_doc() -> dict[str, Any]:
    """The shipped rules as a fresh, modifiable document."""
    return copy.deepcopy(_DEFAULT_DOC)


def family(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in doc['families'] if f['name'] == name)


def route(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in doc['routes'] if r.get('name') == name)


def learned_owners(rules: translation.Rules) -> dict[tuple[str, str], str]:
    """What the ownership index learns from every sample (as the listener
    records it): e.g. the network of neutron__network.delete.end, whose
    payload and admin context name no owner, from network.create.end."""
    owners: dict[tuple[str, str], str] = {}
    for name in NAMES:
        result = translation.translate(notification(name), rules)
        fact = getattr(result, 'ownership', None)
        if fact is not None:
            owners[fact.key] = fact.project
    return owners
