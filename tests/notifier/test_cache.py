"""TtlCache: values are reused for ``ttl`` seconds, then loaded again."""

from bridge.notifier.cache import TtlCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_value_is_reused_within_its_ttl_and_reloaded_after():
    clock, loads = Clock(), []
    cache = TtlCache(1.0, clock=clock)

    def load():
        loads.append(clock.now)
        return len(loads)

    assert cache.get('k', load) == 1
    clock.now += 0.5
    assert cache.get('k', load) == 1
    clock.now += 0.6
    assert cache.get('k', load) == 2
    assert cache.get('other', load) == 3


def test_the_cache_never_holds_more_than_its_size():
    clock = Clock()
    cache = TtlCache(10.0, size=3, clock=clock)
    for i in range(10):
        cache.get(i, lambda i=i: i)
    assert len(cache._data) <= 3
    assert cache.get(9, lambda: 'reloaded') == 9
