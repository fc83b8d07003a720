"""The test harness's own rules (tests/serving.py), which decide whether a missing browser
fails or skips."""

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
