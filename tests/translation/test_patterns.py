"""Globs and JSONPaths: the fast JSONPath evaluation gives exactly what
jsonpath_ng gives."""

from __future__ import annotations

import pytest
from jsonpath_ng.ext import parse

from bridge.translation.patterns import GlobSet, JsonPath, PatternError

from .support import NAMES, SAMPLES


def all_rule_paths(rules) -> list[str]:
    texts = set()
    for fam in rules.families:
        for path in fam.owner + fam.context_paths + fam.resource_id:
            texts.add(path.text)
    return sorted(texts)


ODD_DOCS = [
    {'payload': {'a': {'project_id': 1}, 'b': 's', 'c': [{'project_id': 2}]}},
    {'payload': {'ports': [{'tenant_id': 'x'}, 'str', [1], {'id': 3}]}},
    {'payload': {'nova_object.data': {'tenant_id': None, 'uuid': ''}}},
    {'payload': [1, 2]}, {'payload': 'text'}, {'payload': None}, {},
    {'ctxt': {'project_id': 'p', 'tenant': 't'}}, [], 'x', 5, None,
]


def test_fast_paths_find_what_jsonpath_ng_finds(rules):
    docs = [{'payload': SAMPLES[n]['payload'], 'ctxt': SAMPLES[n]['ctxt']}
            for n in NAMES] + ODD_DOCS
    texts = all_rule_paths(rules)
    assert any('*' in t for t in texts)
    for text in texts:
        ours, reference = JsonPath(text), parse(text)
        for doc in docs:
            assert ours.values(doc) == [m.value for m in reference.find(doc)], \
                (text, doc)


@pytest.mark.parametrize('text,root', [
    ("$.payload.'nova_object.data'.tenant_id", 'payload'),
    ("$.payload['nova_object.data'].tenant_id", 'payload'),
    ('payload.tenant_id', 'payload'),
    ('$.ctxt.project_id', 'ctxt'),
    ('$.payload[?(@.x)].y', 'payload'),
    ('$..tenant_id', None),
    ('$.*.tenant_id', None),
])
def test_root_field_is_the_first_field_read(text, root):
    assert JsonPath(text).root_field == root


def test_filter_paths_fall_back_to_jsonpath_ng():
    path = JsonPath('$.payload.items[?(@.kind == "a")].id')
    doc = {'payload': {'items': [{'kind': 'a', 'id': 1},
                                 {'kind': 'b', 'id': 2}]}}
    assert path.values(doc) == [1]


@pytest.mark.parametrize('text', ['', '   ', None, '$.payload[', '$$'])
def test_invalid_paths_raise_pattern_error(text):
    with pytest.raises(PatternError):
        JsonPath(text)


@pytest.mark.parametrize('globs,value,matches', [
    (['compute.instance.*'], 'compute.instance.create.end', True),
    (['compute.instance.*'], 'instance.create.end', False),
    (['image.*', 'task.*'], 'task.run', True),
    (['dns.zone.?pdate'], 'dns.zone.update', True),
    (['[ab].x'], 'b.x', True),
    (['Image.*'], 'image.x', False),            # case-sensitive
    (['*'], '', True),
    (['*'], None, False),
])
def test_glob_sets(globs, value, matches):
    assert GlobSet(globs).match(value) is matches
