"""Small helpers shared by the storage tests."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from bridge.storage import base, models

TTL = 3600


def new(body: Any, ttl: int = TTL, delay: int = 0,
        dedup_key: str | None = None) -> models.NewMessage:
    return models.NewMessage(body=body, ttl=ttl, delay=delay,
                           dedup_key=dedup_key)


def post(storage: base.Storage, project: str, queue: str,
         values: Iterable[Any], ttl: int = TTL) -> list[str]:
    return storage.post_messages(project, queue,
                                 [new(v, ttl=ttl) for v in values])


def post_numbers(storage: base.Storage, project: str, queue: str,
                 numbers: Iterable[int], batch: int = 50) -> list[str]:
    """Post the numbers as bodies, ``batch`` per call; return the ids."""
    numbers = list(numbers)
    ids: list[str] = []
    for start in range(0, len(numbers), batch):
        ids += post(storage, project, queue, numbers[start:start + batch])
    return ids


def bodies(page: models.MessagePage) -> list[Any]:
    return [m.body for m in page.messages]


def run_threads(count: int, target: Callable[[int], None],
                timeout: float = 120) -> None:
    """Run ``target(i)`` in ``count`` threads released at the same instant;
    re-raise the first exception any of them raised."""
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout)
            target(index)
        except BaseException as error:  # reported to the test below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), 'a thread hung'
    if failures:
        raise failures[0]


def claim_all(storage: base.Storage, project: str, queue: str,
              threads: int, limit: int) -> list[str]:
    """Claim from ``threads`` threads at once until nothing is left;
    return every claimed message id (duplicates included)."""
    claimed: list[list[str]] = [[] for _ in range(threads)]

    def claim(worker: int) -> None:
        while True:
            got = storage.create_claim(project, queue, ttl=300, grace=60,
                                       limit=limit)
            if got is None:
                return
            claimed[worker].extend(m.id for m in got.messages)

    run_threads(threads, claim)
    return [i for ids in claimed for i in ids]
