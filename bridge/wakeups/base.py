"""The wake-up interface: publish "queue (project, name) has new messages";
listen for such notices on an asyncio event loop."""

from __future__ import annotations

import abc
import json
from typing import Callable, Iterable

#: (project, queue name)
Key = tuple[str, str]


def encode(key: Key) -> str:
    """A key as the text carried by every transport."""
    return json.dumps(key, separators=(',', ':'))


def decode(text: str | bytes) -> Key | None:
    """The key in ``text``; None when it is not one (ignored)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, str) for v in value)):
        return value[0], value[1]
    return None


class Publisher(abc.ABC):
    """Tells every listening API process that queues have new messages.

    Called after the messages are committed, from any thread. It never
    raises: a failure is logged and the wake-up is lost (waiters then
    answer at the end of their wait)."""

    @abc.abstractmethod
    def publish(self, keys: Iterable[Key]) -> None:
        """Announce new messages in each of ``keys``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""


class NullPublisher(Publisher):
    """Tells nobody (an application without long polling)."""

    def publish(self, keys: Iterable[Key]) -> None:
        pass

    def close(self) -> None:
        pass


#: What a listener calls for each notice (on the event loop's thread); a
#: key of None means "anything may have changed" (e.g. after reconnecting).
WakeCallback = Callable[[Key | None], None]


class Listener(abc.ABC):
    """Receives the notices meant for this process, on its event loop."""

    @abc.abstractmethod
    async def start(self, wake: WakeCallback) -> None:
        """Begin listening; ``wake`` is called on the loop's thread."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop listening and release resources."""
