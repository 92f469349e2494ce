"""Wake-ups through Unix datagram sockets in one directory: every listener
of the directory hears every publisher; a dead listener's socket is
removed."""

from __future__ import annotations

import asyncio
import os

from bridge.wakeups import base
from bridge.wakeups.unix import UnixListener, UnixPublisher


def test_every_listener_hears_a_publish_and_stale_sockets_are_removed(
        tmp_path):
    directory = str(tmp_path / 'wakeups')

    async def scenario():
        heard: list[list[base.Key | None]] = [[], []]
        listeners = [UnixListener(directory) for _ in heard]
        for listener, log in zip(listeners, heard, strict=True):
            await listener.start(log.append)
        stale = os.path.join(directory, '1-dead.sock')
        open(stale, 'w').close()  # a socket file nobody listens on
        publisher = UnixPublisher(directory)
        publisher.publish([('proj', 'q'), ('proj', 'q'), ('other', 'q')])
        await asyncio.sleep(0.05)
        publisher.close()
        for listener in listeners:
            await listener.stop()
        return heard, stale

    heard, stale = asyncio.run(scenario())
    for log in heard:
        assert sorted(log) == [('other', 'q'), ('proj', 'q')]
    assert not os.path.exists(stale)
    assert os.listdir(directory) == []


def test_publishing_before_any_listener_is_harmless(tmp_path):
    publisher = UnixPublisher(str(tmp_path / 'nobody'))
    publisher.publish([('p', 'q')])
    publisher.close()


def test_keys_survive_the_wire_and_garbage_is_ignored():
    assert base.decode(base.encode(('p/1', 'q'))) == ('p/1', 'q')
    assert base.decode(b'nonsense') is None
    assert base.decode(b'[1, 2]') is None
