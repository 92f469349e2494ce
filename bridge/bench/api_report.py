"""The results of ``bridge-bench api`` over its rounds: per-round ratios,
their medians, the FAILED verdict, the text report and the JSON document.

Everything here is a pure function of :class:`Round` objects, so it is
tested on fabricated :class:`~bridge.bench.wrk.WrkResult` values.

Why rounds: on a shared machine whose speed drifts by tens of percent
within minutes, a ratio of two rates measured minutes apart is mostly
noise. Each round measures every target for a short time, one after
another; a bridge target's ratio to the ceiling (and to Zaqar) is taken
within each round, and the median of those per-round ratios is the
verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from bridge.bench import targets as tg
from bridge.bench import wrk

#: The round's ceiling: the fastest no-op target of the round.
CEILING = 'ceiling'
#: Median ratio each bridge target must reach, per baseline.
GOALS = {
    tg.BRIDGE_SQLITE: {CEILING: 0.30, tg.ZAQAR: 6.0},
    tg.BRIDGE_POSTGRESQL: {CEILING: 0.20, tg.ZAQAR: 4.0},
}
#: Most p99 latency (ms) a bridge target may have.
P99_GOAL_MS = 30.0


class Baseline(NamedTuple):
    """A target bridge's rate is compared with."""

    target: str  # a target name, or CEILING
    key: str  # in the JSON document
    label: str  # written after the ratio
    scale: float  # ratio -> printed number
    fmt: str  # of a ratio
    goal_fmt: str  # of the goal


BASELINES = (
    Baseline(CEILING, 'ceiling', 'of the ceiling', 100.0, '%.0f%%', '%.0f%%'),
    Baseline(tg.ZAQAR, 'zaqar', 'Zaqar', 1.0, '%.1fx', '%.0fx'),
)


@dataclass
class Outcome:
    """What one target gave in one round: a wrk result, or why there is
    none."""

    target: str
    result: wrk.WrkResult | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.result is None or bool(self.result.failures)


@dataclass
class Round:
    """One round: each selected target started, warmed up, measured and
    stopped, one after another."""

    number: int
    #: 1-minute load average when the round started.
    load_average: float
    #: target name -> its outcome, in measuring order; a target left out
    #: of the round (it could not be measured in an earlier one) is absent.
    outcomes: dict[str, Outcome] = field(default_factory=dict)


def rates(rounds: Sequence[Round], name: str) -> list[float | None]:
    """``name``'s rate in each round; None where it has no result. For
    CEILING: the fastest no-op target's rate in each round."""
    if name == CEILING:
        per_target = [rates(rounds, t) for t in tg.NOOP_TARGETS]
        return [max((r for r in column if r is not None), default=None)
                for column in zip(*per_target, strict=True)]
    out: list[float | None] = []
    for rnd in rounds:
        o = rnd.outcomes.get(name)
        out.append(o.result.rate if o and o.result else None)
    return out


def ratios(rounds: Sequence[Round], name: str,
           baseline: str) -> list[float | None]:
    """``name``'s rate over ``baseline``'s rate measured in the same round,
    per round; None where either has no (non-zero) rate."""
    return [own / base if own is not None and base else None
            for own, base in zip(rates(rounds, name), rates(rounds, baseline),
                                 strict=True)]


def median(values: Sequence[float | None]) -> float | None:
    """Median of the values that are not None (None if there is none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def failed_rounds(rounds: Sequence[Round], name: str) -> list[int]:
    """Numbers of the rounds in which ``name`` FAILED or could not be
    measured."""
    return [rnd.number for rnd in rounds
            if name in rnd.outcomes and rnd.outcomes[name].failed]


def failed(rounds: Sequence[Round], name: str) -> bool:
    """A target FAILED in any round is FAILED overall."""
    return bool(failed_rounds(rounds, name))


def latency_round(rounds: Sequence[Round], name: str) -> Round | None:
    """The round whose rate for ``name`` is the median (the lower of the
    middle two for an even number); its latencies are the ones reported."""
    measured = [(rate, rnd.number, rnd) for rate, rnd
                in zip(rates(rounds, name), rounds, strict=True) if rate is not None]
    if not measured:
        return None
    measured.sort(key=lambda item: (item[0], item[1]))
    return measured[(len(measured) - 1) // 2][2]


def summed(rounds: Sequence[Round], name: str, attr: str) -> dict[str, int]:
    """``counts`` or ``socket_errors`` of ``name`` summed over the rounds."""
    total: dict[str, int] = {}
    for rnd in rounds:
        o = rnd.outcomes.get(name)
        if o and o.result:
            for key, value in getattr(o.result, attr).items():
                total[key] = total.get(key, 0) + value
    return total


def names_of(rounds: Sequence[Round]) -> list[str]:
    """Every target measured in any round, in canonical order."""
    seen = {name for rnd in rounds for name in rnd.outcomes}
    return [name for name in tg.ALL if name in seen]


def ratio_line(rounds: Sequence[Round], name: str) -> str | None:
    """e.g. ``bridge-sqlite: 31% of the ceiling (rounds 28%, 31%, 36%;
    target >= 30%: met), 2.9x Zaqar (rounds ...; target >= 6x: MISSED),
    p99 12.0 ms (target <= 30 ms: met)``; None when there is nothing to
    compare with."""
    parts = []
    goals = GOALS[name]
    for b in BASELINES:
        per_round = ratios(rounds, name, b.target)
        mid = median(per_round)
        if mid is None:
            continue
        listed = ', '.join('-' if r is None else b.fmt % (r * b.scale)
                           for r in per_round)
        parts.append('%s %s (round%s %s; target >= %s: %s)' % (
            b.fmt % (mid * b.scale), b.label,
            's' if len(per_round) > 1 else '', listed,
            b.goal_fmt % (goals[b.target] * b.scale),
            'met' if mid >= goals[b.target] else 'MISSED'))
    p99 = _p99(rounds, name)
    if parts and p99 is not None:
        parts.append('p99 %.1f ms (target <= %.0f ms: %s)' % (
            p99, P99_GOAL_MS, 'met' if p99 <= P99_GOAL_MS else 'MISSED'))
    return '%s: %s' % (name, ', '.join(parts)) if parts else None


def _p99(rounds: Sequence[Round], name: str) -> float | None:
    """p99 of the round with the median rate (as the table shows)."""
    rep = latency_round(rounds, name)
    result = rep.outcomes[name].result if rep else None
    return result.p99_ms if result else None


def _status(rounds: Sequence[Round], name: str) -> str:
    bad = failed_rounds(rounds, name)
    if not bad:
        return 'ok'
    return 'FAILED (round%s %s)' % ('s' if len(bad) > 1 else '',
                                   ', '.join(map(str, bad)))


def report(rounds: Sequence[Round], header: Sequence[str]) -> list[str]:
    """The results table and bridge's median ratios, as lines of text;
    ``header`` describes the workload."""
    lines = ['', *header,
             'load average (1 min) at the start of each round: '
             + ', '.join('%d: %.2f' % (r.number, r.load_average) for r in rounds),
             'req/s per round and their median; p50/p99 from the round with '
             'the median rate (lower middle one for an even number of rounds); '
             'counts summed over the rounds',
             'ratios: bridge over the ceiling / Zaqar measured in the same '
             'round, median over the rounds', '']
    round_heads = ''.join(' %8s' % ('round %d' % r.number) for r in rounds)
    head = ('%-18s%s %8s %7s %7s %7s %7s %6s %7s %14s %8s  %s'
            % ('target', round_heads, 'median', 'p50 ms', 'p99 ms', 'posts',
               'claims', 'empty', 'deletes', 'failed p/c/d', 'sock err',
               'status'))
    lines += [head, '-' * len(head)]
    names = names_of(rounds)
    for name in names:
        lines.append(_table_row(rounds, name))
    lines.append('')
    for rnd in rounds:
        for o in rnd.outcomes.values():
            where = '%s (round %d)' % (o.target, rnd.number)
            if o.error:
                lines.append('%s: %s' % (where, o.error))
            elif o.result and o.result.failures:
                lines.append('%s FAILED: %s' % (where, '; '.join(o.result.failures)))
            if o.result and any(o.result.socket_errors.values()):
                lines.append('%s socket errors: %s' % (where, o.result.socket_errors))
    for name in tg.BRIDGE_TARGETS:
        if name in names:
            line = ratio_line(rounds, name)
            if line:
                lines.append(line)
    return lines


def _table_row(rounds: Sequence[Round], name: str) -> str:
    cells = ''
    for rate, rnd in zip(rates(rounds, name), rounds, strict=True):
        o = rnd.outcomes.get(name)
        cells += ' %8s' % ('-' if o is None else 'ERROR' if rate is None
                           else '%.0f' % rate)
    rep = latency_round(rounds, name)
    if rep is None:
        return '%-18s%s  %s' % (name, cells, _status(rounds, name))
    r = rep.outcomes[name].result
    assert r is not None
    c = summed(rounds, name, 'counts')
    failures = '%d/%d/%d' % (c.get('post_failed', 0), c.get('claim_failed', 0),
                             c.get('delete_failed', 0))
    return '%-18s%s %8.0f %7.1f %7.1f %7d %7d %6d %7d %14s %8d  %s' % (
        name, cells, median(rates(rounds, name)), r.p50_ms, r.p99_ms,
        c.get('post_ok', 0), c.get('claim_ok', 0), c.get('claim_empty', 0),
        c.get('delete_ok', 0), failures,
        sum(summed(rounds, name, 'socket_errors').values()),
        _status(rounds, name))


def _outcome_json(o: Outcome) -> dict:
    if o.result is None:
        return {'error': o.error}
    r = o.result
    return dict(rate=r.rate, requests=r.requests, duration_s=r.duration_s,
                p50_ms=r.p50_ms, p90_ms=r.p90_ms, p99_ms=r.p99_ms,
                max_ms=r.max_ms, counts=r.counts,
                socket_errors=r.socket_errors, failures=r.failures,
                failed=o.failed)


def as_json(rounds: Sequence[Round], settings: dict) -> dict:
    """Per-round results, each target's summary over the rounds and
    bridge's median ratios."""
    doc: dict = {'settings': settings, 'rounds': [], 'targets': {},
                 'ratios': {}}
    for rnd in rounds:
        doc['rounds'].append({
            'round': rnd.number, 'load_average': rnd.load_average,
            'order': list(rnd.outcomes),
            'targets': {name: _outcome_json(o)
                        for name, o in rnd.outcomes.items()}})
    for name in names_of(rounds):
        rep = latency_round(rounds, name)
        result = rep.outcomes[name].result if rep else None
        doc['targets'][name] = {
            'description': tg.DESCRIPTIONS[name],
            'rates': rates(rounds, name),
            'median_rate': median(rates(rounds, name)),
            'latency_round': rep.number if rep else None,
            'p50_ms': result.p50_ms if result else None,
            'p99_ms': result.p99_ms if result else None,
            'counts': summed(rounds, name, 'counts'),
            'socket_errors': summed(rounds, name, 'socket_errors'),
            'failed': failed(rounds, name),
            'failed_rounds': failed_rounds(rounds, name)}
        if name not in tg.BRIDGE_TARGETS:
            continue
        entry = {}
        for b in BASELINES:
            per_round = ratios(rounds, name, b.target)
            mid = median(per_round)
            if mid is not None:
                goal = GOALS[name][b.target]
                entry[b.key] = {'median': mid, 'rounds': per_round,
                                'target': goal, 'met': mid >= goal}
        p99 = _p99(rounds, name)
        if p99 is not None:
            entry['p99_ms'] = {'value': p99, 'target': P99_GOAL_MS,
                               'met': p99 <= P99_GOAL_MS}
        doc['ratios'][name] = entry
    return doc
