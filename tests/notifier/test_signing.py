"""Signatures: HMAC-SHA256 of the exact body bytes, checked in constant
time."""

import hashlib
import hmac

from bridge.notifier import signing

BODY = b'{"body":{"event_type":"compute.instance.create.end"},"ttl":60}'


def test_signature_is_the_hex_hmac_sha256_of_the_body_with_a_prefix():
    expected = hmac.new(b'key', BODY, hashlib.sha256).hexdigest()
    assert signing.sign('key', BODY) == 'sha256=' + expected


def test_verify_accepts_the_signature_of_the_same_bytes():
    assert signing.verify('key', BODY, signing.sign('key', BODY))


def test_verify_refuses_another_secret_a_changed_body_and_bad_headers():
    header = signing.sign('key', BODY)
    assert not signing.verify('other', BODY, header)
    assert not signing.verify('key', BODY + b' ', header)
    assert not signing.verify('key', BODY, header.upper())
    assert not signing.verify('key', BODY, header[len('sha256='):])
    assert not signing.verify('key', BODY, None)
    assert not signing.verify('key', BODY, '')
    assert not signing.verify('key', BODY, 'sha256=\u00e9')


def test_the_header_name_says_signature():
    assert 'Signature' in signing.HEADER
