"""The warm-up: its steps still match the engines and charts, in the order a visitor needs.

A failing warm-up step is only logged (it must never break a page), so these tests are what
notices when an engine or chart function it calls has changed.
"""

from __future__ import annotations

import pytest
from serving import python_output

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


def test_scipy_looks_up_a_half_imported_torch():
    """Why torch is in PEEKED_AT: SciPy (which scikit-learn imports) reads ``torch.Tensor``
    from ``sys.modules`` without the import lock, so a torch another thread is still
    importing breaks it (if SciPy stops doing so, torch may leave PEEKED_AT)."""
    out = python_output(
        "import sys, types, numpy as np\n"
        "sys.modules['torch'] = types.ModuleType('torch')  # as while another thread imports it\n"
        "from scipy._lib.array_api_compat.common._helpers import is_torch_array\n"
        "try:\n    is_torch_array(np.zeros(1))\nexcept AttributeError as e:\n    print(e)\n"
    )
    assert "Tensor" in out


def test_torch_is_imported_first_and_awaited_by_every_page():
    assert "torch" in warmup.PEEKED_AT
    first = warmup._next(list(warmup.STEPS))
    assert first.lab is None  # every page's step, so it runs before any lab's
    imported = python_output(
        "import sys, warmup\n"
        f"next(s for s in warmup.STEPS if s.name == {first.name!r}).work()\n"
        "print('torch' in sys.modules, 'sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    assert imported == "True False False"
