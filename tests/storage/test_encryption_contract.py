"""Encryption at rest, against every backend (conftest.py): bodies of a
queue whose metadata sets ``_enable_encrypt_messages`` are stored sealed,
which the tests check by reading the database directly, and every read
returns them opened.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import Iterator

import pymongo
import pytest
import sqlalchemy as sa

from bridge.storage import base, errors, from_url, models
from bridge.storage.codec import BodyCodec
from .conftest import _create_sql_database, backend_url, make_conf
from .support import new

K1 = base64.b64encode(b'1' * 32).decode()
K2 = base64.b64encode(b'2' * 16).decode()
ENCRYPTED = {'_enable_encrypt_messages': True}


@pytest.fixture(scope='module')
def keyed(backend: str, tmp_path_factory) -> Iterator[tuple[base.Storage,
                                                            str]]:
    """A storage of the backend with keys k1 (active) and k2, and its URL."""
    url = backend_url(backend, str(tmp_path_factory.mktemp(backend)))
    _create_sql_database(backend, url)
    conf = make_conf()
    conf.set_override('keys', ['k1:' + K1, 'k2:' + K2], group='encryption')
    storage = from_url(url, conf)
    storage.ensure_schema()
    yield storage, url
    storage.close()


@pytest.fixture
def sealed(keyed) -> Iterator[base.Storage]:
    storage = keyed[0]
    codec = storage.codec
    yield storage
    storage.codec = codec  # tests below swap keys


def stored_bodies(url: str, ids: list[str]) -> list[str]:
    """The body text of the messages as the database holds it."""
    if url.startswith('mongodb'):
        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
        try:
            db = client.get_default_database()
            found = {d['_id']: d['b'] for d in
                     db['messages'].find({'_id': {'$in': ids}})}
        finally:
            client.close()
    else:
        engine = sa.create_engine(url.replace('postgresql://',
                                              'postgresql+psycopg2://', 1))
        try:
            with engine.connect() as conn:
                found = dict(conn.execute(sa.text(
                    'SELECT id, body FROM messages WHERE id IN :ids')
                    .bindparams(sa.bindparam('ids', expanding=True)),
                    {'ids': ids}).all())
        finally:
            engine.dispose()
    return [found[i] for i in ids]


def needle() -> str:
    return 'plaintext-' + uuid.uuid4().hex


def test_bodies_of_an_encrypted_queue_are_stored_without_plaintext(
        sealed, keyed, project):
    secret = needle()
    sealed.create_queue(project, 'q', ENCRYPTED)
    ids = sealed.post_messages(project, 'q', [
        new({'secret': secret, 'n': 1}), new([secret, 2]), new(secret)])
    for text in stored_bodies(keyed[1], ids):
        assert secret not in text
        assert text.startswith('!gcm1:k1:')
    page = sealed.list_messages(project, 'q', echo=True)
    assert [m.body for m in page.messages] == [
        {'secret': secret, 'n': 1}, [secret, 2], secret]


def test_a_plain_queue_stores_readable_json(sealed, keyed, project):
    secret = needle()
    ids = sealed.post_messages(project, 'q', [new({'secret': secret})])
    assert secret in stored_bodies(keyed[1], ids)[0]


def test_every_read_returns_opened_bodies(sealed, project):
    sealed.create_queue(project, 'q', ENCRYPTED)
    ids = sealed.post_messages(project, 'q', [new({'n': i})
                                              for i in range(4)])
    assert [m.body for m in sealed.get_messages(project, 'q', ids)] == [
        {'n': i} for i in range(4)]
    stats = sealed.queue_stats(project, 'q')
    assert (stats.oldest.body, stats.newest.body) == ({'n': 0}, {'n': 3})
    claim = sealed.create_claim(project, 'q', ttl=60, grace=60, limit=2)
    assert [m.body for m in claim.messages] == [{'n': 0}, {'n': 1}]
    again = sealed.get_claim(project, 'q', claim.id)
    assert [m.body for m in again.messages] == [{'n': 0}, {'n': 1}]
    assert [m.body for m in sealed.pop_messages(project, 'q', 5)] == [
        {'n': 2}, {'n': 3}]


def test_api_and_listener_posts_are_sealed_by_the_queue_metadata(
        sealed, keyed, project):
    secret = needle()
    sealed.create_queue(project, 'api', ENCRYPTED)
    sealed.create_queue(project, 'events', ENCRYPTED)
    api_ids = sealed.post_prepared(
        project, 'api', lambda metadata: [new({'api': secret})])
    sealed.post_many([models.Post(project, 'events',
                                  [new({'event': secret}, dedup_key='e1')],
                                  max_depth=10)])
    event_ids = [m.id for m in sealed.list_messages(
        project, 'events').messages]
    for text in stored_bodies(keyed[1], api_ids + event_ids):
        assert secret not in text and text.startswith('!gcm1:')
    assert sealed.get_messages(project, 'events', event_ids)[0].body == {
        'event': secret}


def test_turning_encryption_on_applies_to_messages_posted_after(
        sealed, keyed, project):
    before = sealed.post_messages(project, 'q', [new('before')])
    sealed.set_queue_metadata(project, 'q', ENCRYPTED)
    after = sealed.post_prepared(project, 'q',
                                 lambda metadata: [new('after')])
    plain, hidden = stored_bodies(keyed[1], before + after)
    assert plain == '"before"' and hidden.startswith('!gcm1:')
    assert [m.body for m in sealed.get_messages(
        project, 'q', before + after)] == ['before', 'after']


def test_rotated_keys_keep_old_messages_readable_while_configured(
        sealed, keyed, project):
    sealed.create_queue(project, 'q', ENCRYPTED)
    old = sealed.post_messages(project, 'q', [new('old')])
    keys = {'k1': b'1' * 32, 'k2': b'2' * 16}
    sealed.codec = BodyCodec(keys, active='k2')
    fresh = sealed.post_messages(project, 'q', [new('fresh')])
    assert stored_bodies(keyed[1], fresh)[0].startswith('!gcm1:k2:')
    assert [m.body for m in sealed.get_messages(
        project, 'q', old + fresh)] == ['old', 'fresh']
    sealed.codec = BodyCodec({'k2': keys['k2']})  # k1 retired too early
    assert sealed.get_messages(project, 'q', fresh)[0].body == 'fresh'
    with pytest.raises(errors.KeyUnavailable, match="'k1'"):
        sealed.get_messages(project, 'q', old)


def test_a_key_configured_with_other_bytes_is_an_error_not_garbage(
        sealed, project):
    sealed.create_queue(project, 'q', ENCRYPTED)
    ids = sealed.post_messages(project, 'q', [new('x')])
    sealed.codec = BodyCodec({'k1': os.urandom(32)})
    with pytest.raises(errors.KeyUnavailable, match='cannot be decrypted'):
        sealed.get_messages(project, 'q', ids)


def test_posting_to_an_encrypted_queue_without_keys_stores_nothing(
        sealed, project):
    sealed.create_queue(project, 'q', ENCRYPTED)
    sealed.codec = BodyCodec()
    with pytest.raises(errors.KeyUnavailable):
        sealed.post_prepared(project, 'q', lambda metadata: [new('x')])
    with pytest.raises(errors.KeyUnavailable):
        sealed.post_messages(project, 'q', [new('x')])
    with pytest.raises(errors.KeyUnavailable):
        sealed.post_many([models.Post(project, 'q', [new('x')])])
    assert sealed.queue_stats(project, 'q').total == 0
