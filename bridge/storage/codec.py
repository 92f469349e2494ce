"""Message bodies as drivers store them: plain JSON text, or sealed with
AES-GCM when the queue asks for encryption at rest.

Every driver stores a body as text. Plain bodies are JSON text, which
never starts with ``!``; a sealed body is ``!gcm1:<key id>:<token>``, the
token being base64url(12-byte nonce + ciphertext + 16-byte tag) of the
body's JSON text, with ``bridge-body:<key id>`` as associated data. So the
stored text says how to read it, whatever the queue's metadata says now,
and the key id travels with each message: keys rotate by adding a new key,
making it the active one, and keeping the old one configured while
messages sealed with it live.

The drivers only move text: :func:`stored_text` and :func:`loaded_body`
(pure, no keys) convert a body at their serialisation points, a sealed
body becoming a :class:`Sealed` value. Sealing and opening happen in one
place, :class:`BodyCodec`, which every driver holds (``Storage.codec``)
and applies to the batches it posts (with the metadata the post obeys)
and to the messages it returns.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
from typing import Any, Callable, Mapping, Sequence

from cryptography import exceptions
from cryptography.hazmat.primitives.ciphers import aead

from bridge.storage import errors, models

#: The queue metadata flag (Zaqar's name) that asks for sealed bodies.
FLAG = '_enable_encrypt_messages'

PREFIX = '!gcm1:'
_NONCE = 12
_KEY_ID = re.compile(r'^[A-Za-z0-9_-]{1,32}$')
_KEY_SIZES = (16, 24, 32)


@dataclasses.dataclass(frozen=True)
class Sealed:
    """A sealed body as stored (``text`` starts with :data:`PREFIX`)."""

    text: str

    @property
    def key_id(self) -> str:
        return self.text[len(PREFIX):].split(':', 1)[0]


def stored_text(body: Any, dump: Callable[[Any], str]) -> str:
    """The text a driver stores for ``body``; ``dump`` is its JSON
    serialiser for plain bodies."""
    if isinstance(body, Sealed):
        return body.text
    return dump(body)


def loaded_body(text: str) -> Any:
    """The body a driver read: the JSON value, or :class:`Sealed`."""
    if text.startswith(PREFIX):
        return Sealed(text)
    return json.loads(text)


def wants_sealing(metadata: Mapping[str, Any]) -> bool:
    return metadata.get(FLAG) is True


def parse_keys(entries: Sequence[str]) -> dict[str, bytes]:
    """``["id:base64key", ...]`` as {id: key}; ValueError naming the bad
    entry (never the key itself)."""
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(entries, 1):
        key_id, sep, encoded = entry.strip().partition(':')
        if not sep or not _KEY_ID.match(key_id):
            raise ValueError('[encryption] keys: entry %d is not '
                             '"ID:BASE64KEY" with an ID of 1 to 32 letters, '
                             'digits, "_" or "-"' % number)
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError('[encryption] keys: key %r is not valid base64'
                             % key_id) from None
        if len(key) not in _KEY_SIZES:
            raise ValueError('[encryption] keys: key %r is %d bytes; AES '
                             'needs 16, 24 or 32' % (key_id, len(key)))
        if key_id in keys:
            raise ValueError('[encryption] keys: key %r is listed twice'
                             % key_id)
        keys[key_id] = key
    return keys


class BodyCodec:
    """Seals and opens bodies with the configured keys. ``active`` names
    the key new bodies are sealed with (default: the first). Without keys,
    plain bodies pass and sealing or opening raises
    :class:`~bridge.storage.errors.KeyUnavailable`."""

    def __init__(self, keys: Mapping[str, bytes] | None = None,
                 active: str | None = None) -> None:
        self._ciphers = {key_id: aead.AESGCM(key)
                         for key_id, key in (keys or {}).items()}
        if active is not None and active not in self._ciphers:
            raise ValueError('[encryption] active_key %r is not among '
                             '[encryption] keys' % active)
        self._active = active or next(iter(self._ciphers), None)

    @classmethod
    def from_conf(cls, conf: Any) -> 'BodyCodec':
        """The codec of a ConfigOpts' [encryption] group; ValueError with
        one clear line when the keys are malformed."""
        group = conf.encryption
        # ("keys" is also a method of the group mapping: index it.)
        return cls(parse_keys(group['keys']), group.active_key or None)

    # -- sealing -------------------------------------------------------------

    @property
    def can_seal(self) -> bool:
        """Whether a key is configured to seal new bodies with."""
        return self._active is not None

    def seal(self, body: Any) -> Sealed:
        if self._active is None:
            raise errors.KeyUnavailable(
                'this queue encrypts messages at rest and no encryption key '
                'is configured ([encryption] keys)')
        plain = json.dumps(body, separators=(',', ':')).encode('ascii')
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[self._active].encrypt(
            nonce, plain, self._aad(self._active))
        token = base64.urlsafe_b64encode(nonce + sealed).decode('ascii')
        return Sealed('%s%s:%s' % (PREFIX, self._active, token))

    def seal_batch(self, batch: Sequence[models.NewMessage],
                   metadata: Mapping[str, Any]
                   ) -> Sequence[models.NewMessage]:
        """``batch`` with sealed bodies if ``metadata`` asks for it."""
        if not wants_sealing(metadata):
            return batch
        return [dataclasses.replace(m, body=self.seal(m.body))
                for m in batch]

    def sealing(self, prepare: Callable[[dict[str, Any]],
                                        Sequence[models.NewMessage]]
                ) -> Callable[[dict[str, Any]], Sequence[models.NewMessage]]:
        """``prepare`` (see Storage.post_prepared) sealing what it makes
        when the metadata it is given asks for it."""
        def sealed_prepare(metadata: dict[str, Any]
                           ) -> Sequence[models.NewMessage]:
            return self.seal_batch(prepare(metadata), metadata)
        return sealed_prepare

    # -- opening -------------------------------------------------------------

    def open(self, body: Any) -> Any:
        if not isinstance(body, Sealed):
            return body
        key_id = body.key_id
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise errors.KeyUnavailable(
                'a message is encrypted with key %r, which is not among '
                '[encryption] keys' % key_id)
        try:
            raw = base64.urlsafe_b64decode(
                body.text[len(PREFIX) + len(key_id) + 1:])
            plain = cipher.decrypt(raw[:_NONCE], raw[_NONCE:],
                                   self._aad(key_id))
        except (binascii.Error, ValueError, exceptions.InvalidTag):
            raise errors.KeyUnavailable(
                'a message encrypted with key %r cannot be decrypted: the '
                'key configured under that id is not the one it was '
                'sealed with, or the stored text was altered' % key_id
            ) from None
        return json.loads(plain)

    def open_message(self, message: models.Message) -> models.Message:
        if not isinstance(message.body, Sealed):
            return message
        return dataclasses.replace(message, body=self.open(message.body))

    def open_messages(self, found: list[models.Message]
                      ) -> list[models.Message]:
        return [self.open_message(m) for m in found]

    def open_page(self, page: models.MessagePage) -> models.MessagePage:
        return dataclasses.replace(page,
                                   messages=self.open_messages(page.messages))

    def open_claim(self, claim: models.Claim) -> models.Claim:
        return dataclasses.replace(claim,
                                   messages=self.open_messages(claim.messages))

    def open_stats(self, stats: models.QueueStats) -> models.QueueStats:
        return dataclasses.replace(
            stats,
            oldest=stats.oldest and self.open_message(stats.oldest),
            newest=stats.newest and self.open_message(stats.newest))

    @staticmethod
    def _aad(key_id: str) -> bytes:
        return ('bridge-body:%s' % key_id).encode('ascii')
