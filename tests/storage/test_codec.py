"""The body codec on its own (pure units): key parsing, sealing format,
and what plain bodies look like to drivers."""

from __future__ import annotations

import base64

import pytest

from bridge.storage import codec, errors
from bridge.storage.codec import BodyCodec, Sealed
from .conftest import make_conf

KEY = base64.b64encode(b'k' * 32).decode()


def test_keys_are_id_base64_pairs_of_aes_sizes():
    keys = codec.parse_keys(['a:' + KEY, ' b-2:' + base64.b64encode(
        b'x' * 16).decode()])
    assert keys == {'a': b'k' * 32, 'b-2': b'x' * 16}


@pytest.mark.parametrize('entry, says', [
    ('nocolon', 'entry 1 is not "ID:BASE64KEY"'),
    ('bad id!:' + KEY, 'entry 1 is not'),
    ('a:not base64', "key 'a' is not valid base64"),
    ('a:' + base64.b64encode(b'short').decode(), "key 'a' is 5 bytes"),
])
def test_malformed_keys_are_refused_without_echoing_the_key(entry, says):
    with pytest.raises(ValueError, match=says) as refused:
        codec.parse_keys([entry])
    assert KEY not in str(refused.value)


def test_a_key_listed_twice_and_an_unknown_active_key_are_refused():
    with pytest.raises(ValueError, match='listed twice'):
        codec.parse_keys(['a:' + KEY, 'a:' + KEY])
    with pytest.raises(ValueError, match="active_key 'b'"):
        BodyCodec({'a': b'k' * 32}, active='b')


def test_from_conf_reads_the_encryption_group():
    conf = make_conf()
    conf.set_override('keys', ['old:' + KEY, 'new:' + KEY],
                      group='encryption')
    conf.set_override('active_key', 'new', group='encryption')
    sealed = BodyCodec.from_conf(conf).seal({'a': 1})
    assert sealed.key_id == 'new'
    assert sealed.text.startswith('!gcm1:new:')


def test_sealing_twice_gives_different_text_that_opens_to_the_body():
    body = {'a': ['é', 1.5, None, '\ud800']}
    keyed = BodyCodec({'a': b'k' * 32})
    first, second = keyed.seal(body), keyed.seal(body)
    assert first.text != second.text  # a fresh nonce each time
    assert keyed.open(first) == keyed.open(second) == body


def test_drivers_see_plain_json_or_sealed_text():
    assert codec.loaded_body('{"a":1}') == {'a': 1}
    assert codec.loaded_body('"!gcm1:not sealed"') == '!gcm1:not sealed'
    assert isinstance(codec.loaded_body('!gcm1:a:xyz'), Sealed)
    assert codec.stored_text(Sealed('!gcm1:a:xyz'), str) == '!gcm1:a:xyz'


def test_only_true_turns_sealing_on():
    keyed = BodyCodec({'a': b'k' * 32})
    batch = [codec.models.NewMessage(body='x', ttl=60)]
    for metadata in ({}, {'_enable_encrypt_messages': False},
                     {'_enable_encrypt_messages': 'true'}):
        assert keyed.seal_batch(batch, metadata) is batch
    sealed = keyed.seal_batch(batch, {'_enable_encrypt_messages': True})
    assert isinstance(sealed[0].body, Sealed)


def test_without_keys_sealing_is_refused_clearly():
    with pytest.raises(errors.KeyUnavailable, match='no encryption key'):
        BodyCodec().seal('x')
