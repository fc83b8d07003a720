"""The test harness's own rules: when a missing browser fails rather than skips
(tests/serving.py), and that torch's thread count set for one module comes back after it
(tests/conftest.py)."""

from __future__ import annotations

import pytest
from serving import in_ci


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "1", "yes", "on", "github", " true "])
def test_any_ci_value_but_empty_zero_or_false_means_ci(value):
    assert in_ci({"CI": value})


@pytest.mark.parametrize("value", ["", "0", "false", "False", "FALSE", " 0 ", "  "])
def test_unset_empty_zero_or_false_is_not_ci(value):
    assert not in_ci({"CI": value})
    assert not in_ci({})


def test_torch_threads_are_restored_after_the_block_even_on_error():
    import torch
    from conftest import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("a failing test")
    assert torch.get_num_threads() == before
