"""The hub of parked waiters (pure, one event loop)."""

from __future__ import annotations

import asyncio

from bridge.wakeups.hub import Hub

A, B = ('p', 'a'), ('p', 'b')


def run(coro):
    return asyncio.run(coro)


def test_a_wake_up_of_the_key_releases_its_waiter_and_no_other():
    async def scenario():
        hub = Hub()
        mark = hub.mark()
        a = asyncio.ensure_future(hub.wait(A, mark, 5))
        b = asyncio.ensure_future(hub.wait(B, mark, 0.2))
        await asyncio.sleep(0.01)
        assert hub.parked == 2
        hub.wake(A)
        assert await a is True
        assert await b is False
        assert hub.parked == 0
    run(scenario())


def test_a_wake_up_between_the_mark_and_the_wait_is_not_missed():
    async def scenario():
        hub = Hub()
        mark = hub.mark()
        hub.wake(A)  # arrived while the request ran
        assert await hub.wait(A, mark, 5) is True
        assert await hub.wait(B, mark, 0) is False
        assert await hub.wait(A, hub.mark(), 0.01) is False
    run(scenario())


def test_a_mark_older_than_the_history_counts_as_woken():
    async def scenario():
        hub = Hub(history=3)
        mark = hub.mark()
        for _ in range(5):
            hub.wake(B)
        assert await hub.wait(A, mark, 0) is True
    run(scenario())


def test_wake_none_releases_everyone():
    async def scenario():
        hub = Hub()
        waits = [asyncio.ensure_future(hub.wait(k, hub.mark(), 5))
                 for k in (A, B)]
        await asyncio.sleep(0.01)
        hub.wake(None)
        assert await asyncio.gather(*waits) == [True, True]
    run(scenario())


def test_a_waiter_whose_client_left_returns_false_and_is_forgotten():
    async def scenario():
        hub = Hub()
        gone = asyncio.get_running_loop().create_future()
        wait = asyncio.ensure_future(hub.wait(A, hub.mark(), 5, gone))
        await asyncio.sleep(0.01)
        gone.set_result(None)
        assert await wait is False
        assert hub.parked == 0
        hub.wake(A)  # nobody left to wake
    run(scenario())
