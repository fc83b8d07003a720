"""The warm-up: its steps still match the engines and charts, in the order a visitor needs.

A failing warm-up step is only logged (it must never break a page), so these tests are what
notices when an engine or chart function it calls has changed.
"""

from __future__ import annotations

import pytest

import warmup


@pytest.mark.parametrize("step", warmup.STEPS, ids=lambda s: s.name)
def test_every_warm_up_step_runs(step):
    step.work()  # raises if an import or a call no longer matches the code


@pytest.mark.parametrize("first", ["kmeans", "attention", None])
def test_the_visitors_lab_is_warmed_first(monkeypatch, first):
    monkeypatch.setattr(warmup, "_first", first)
    remaining, order = list(warmup.STEPS), []
    while remaining:
        step = warmup._next(remaining)
        remaining.remove(step)
        order.append(step.lab)
    shared = order.count(None)
    assert order[:shared] == [None] * shared  # what every page needs comes first
    labs = order[shared:]
    if first is not None:
        assert labs[: labs.count(first)] == [first] * labs.count(first)
    assert sorted(map(str, labs)) == sorted(str(s.lab) for s in warmup.STEPS if s.lab)


def test_outside_a_server_nothing_is_started():
    assert warmup.start(first="kmeans") is False  # no Streamlit runtime in a test process
    assert warmup._thread is None
