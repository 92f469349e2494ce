"""The owner keys of queues and topics (bridge.storage.namespaces)."""

from __future__ import annotations

import pytest

from bridge.storage import namespaces


def test_a_projects_queues_are_owned_by_the_project_itself():
    assert namespaces.owner('abc') == 'abc'
    assert namespaces.split('abc') == ('abc', 'queues')
    assert namespaces.path('abc', 'q') == '/v2/queues/q'


def test_a_projects_topics_are_owned_by_its_topics_namespace():
    owner = namespaces.owner('abc', namespaces.TOPICS)
    assert owner == 'abc/topics'
    assert namespaces.split(owner) == ('abc', 'topics')
    assert namespaces.path(owner, 't') == '/v2/topics/t'


def test_a_project_id_with_the_separator_is_refused_in_every_namespace():
    # Else project "abc/topics" would own the topics of project "abc".
    for namespace in namespaces.NAMESPACES:
        with pytest.raises(ValueError, match='may not contain'):
            namespaces.owner('abc/topics', namespace)


def test_a_topics_owner_fits_the_stored_project_column():
    longest = 'p' * (namespaces.MAX_OWNER - len('/topics'))
    assert len(namespaces.owner(longest, namespaces.TOPICS)) == \
        namespaces.MAX_OWNER
    with pytest.raises(ValueError, match='249 characters'):
        namespaces.owner(longest + 'p', namespaces.TOPICS)
    assert namespaces.owner(longest + 'p') == longest + 'p'
