"""engine.attention.run: the run object hands each view exactly what the layer computed.

The oracle is the layer itself (and engine.attention.analysis): every array a view gets
from an AttentionRun must equal the trace it was made from, sliced as the view needs.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import math

import numpy as np
import pytest
import torch

from engine.attention import (
    AttentionRun,
    EmptyTextError,
    HeadWidthError,
    MultiHeadAttention,
    analysis,
    random_attention,
)
from engine.attention.run import run_task
from engine.attention.tasks import TASKS, LettersError
from engine.attention.tokens import embed, tokenize_lines
from engine.attention.weights import load_pretrained
from engine.data import to_csv_bytes

# One torch thread in this module only (the fixture restores the count after it).
pytestmark = pytest.mark.usefixtures("one_torch_thread")
TEXT = "the cat sat on the mat\nthe dog sat"


@pytest.fixture(scope="module")
def layer() -> MultiHeadAttention:
    return random_attention(8, 2, seed=3, sharpness=2.0)


@pytest.fixture(scope="module", params=[False, True], ids=["bidirectional", "causal"])
def free(request, layer) -> tuple[AttentionRun, object]:
    """A two-line run and the trace the layer gives for the same batch."""
    causal = request.param
    run = AttentionRun.from_text(layer, TEXT, seed=1, causal=causal)
    batch = tokenize_lines(TEXT)
    x = embed(batch, 8, 1)
    with torch.inference_mode():
        trace = layer(x, x, x, key_padding_mask=batch.key_padding_mask, is_causal=causal,
                      return_intermediates=True)  # fmt: skip
    return run, trace


# ----------------------------------------------------------------------------- typed errors


@pytest.mark.parametrize("text", ["", "  \n\t\n"], ids=["empty", "blank"])
def test_empty_text_raises_the_typed_error_everywhere(layer, text):
    with pytest.raises(EmptyTextError, match="empty"):
        tokenize_lines(text)
    with pytest.raises(EmptyTextError):
        AttentionRun.from_text(layer, text)
    with pytest.raises(EmptyTextError):
        TASKS["reverse"].read_lines(text)
    assert issubclass(EmptyTextError, ValueError)  # callers catching ValueError still work


def test_read_lines_names_every_line_a_model_cannot_read():
    assert TASKS["reverse"].read_lines("  a b c \n\nhello\n") == ["abc", "hello"]
    with pytest.raises(LettersError) as info:
        TASKS["reverse"].read_lines("Hello\nab\nfine")
    assert info.value.problems == [
        "Line 1: the Reverse model only knows the letters a-z; not 'H'.",
        "Line 2: the Reverse model was trained on 3 to 12 letters; this line has 2.",
    ]


def test_repeated_letters_are_noticed_only_where_the_task_needs_distinct_ones():
    assert TASKS["induction"].repeats_letters(["hello"])
    assert not TASKS["induction"].repeats_letters(["python"])
    assert not TASKS["reverse"].repeats_letters(["hello"])


def test_heads_that_do_not_divide_d_model_raise_the_typed_error():
    with pytest.raises(HeadWidthError, match="d_model=10 is not divisible by n_heads=3") as info:
        random_attention(10, 3)
    assert info.value.divisors == [1, 2, 5, 10]
    assert (info.value.d_model, info.value.n_heads) == (10, 3)


def test_each_task_is_an_object_whose_class_says_how_it_builds():
    kinds = {name: type(task).__name__ for name, task in TASKS.items()}
    assert kinds == {"previous_token": "PreviousToken", "reverse": "Reverse", "sort": "Sort",
                     "induction": "Induction"}  # fmt: skip
    source = inspect.getsource(run_task)
    assert "task.name" not in source  # no branching on task-name strings


# ----------------------------------------------------------------------------- the run


def test_free_text_run_holds_the_layers_trace(free):
    run, trace = free
    assert run.n_sequences == 2 and run.n_layers == 1 and run.n_heads == 2 and run.length == 6
    assert run.tokens == (("the", "cat", "sat", "on", "the", "mat"), ("the", "dog", "sat"))
    assert run.padding.tolist() == [[False] * 6, [False] * 3 + [True] * 3]
    assert run.has_padding(1) and not run.has_padding(0)
    np.testing.assert_array_equal(run.weights(0, 0), trace.weights[0].numpy())
    np.testing.assert_array_equal(run.weights(1, 0), trace.weights[1, :, :3, :3].numpy())
    assert run.weights(1, 0, padded=True).shape == (2, 6, 6)
    assert run.labels(1) == ["the", "dog", "sat"]
    assert run.labels(1, padded=True) == ["the", "dog", "sat", "<pad>", "<pad>", "<pad>"]
    assert run.padding_of(1, padded=True).tolist() == [False] * 3 + [True] * 3
    assert run.expected is None and run.accuracy is None


def test_a_cached_run_cannot_be_written_into(free):
    run, _ = free
    with pytest.raises(ValueError, match="read-only"):
        run.weights(0, 0)[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        run.layers[0].q[0, 0, 0, 0] = 1.0


def test_focus_views_are_a_head_an_aggregate_or_the_rollout(free):
    run, _ = free
    w = run.weights(1, 0)
    np.testing.assert_array_equal(run.focus(1, 0, 1), w[1])
    np.testing.assert_array_equal(run.focus(1, 0, "mean"), analysis.aggregate_heads(w, "mean"))
    np.testing.assert_array_equal(run.focus(1, 0, "max"), analysis.aggregate_heads(w, "max"))
    rolled = run.focus(1, 0, "rollout", padded=True)  # (L, L), zero at padding
    assert rolled.shape == (6, 6)
    np.testing.assert_allclose(rolled[:3, :3], analysis.rollout([w]))
    assert not rolled[3:].any() and not rolled[:, 3:].any()
    np.testing.assert_allclose(rolled[:3].sum(axis=1), 1.0, atol=1e-6)


def test_steps_are_the_formula_term_by_term(free, layer):
    run, trace = free
    s = run.steps(0, 0, head=1)
    assert s.d_head == 4 and s.d_model == 8 and s.tokens == list(run.tokens[0])
    np.testing.assert_allclose(s.qk / math.sqrt(s.d_head), s.scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s.masked_scores, s.scores + s.mask)
    if run.causal:
        assert np.isneginf(s.mask[np.triu_indices(6, 1)]).all()
    else:
        assert not s.mask.any()
    np.testing.assert_allclose(s.weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(s.head_output, s.weights @ s.v, atol=1e-6)
    np.testing.assert_array_equal(s.concat[:, 4:8], s.head_output)  # head 2 fills columns 4-7
    bias = layer.out_proj.bias.detach().numpy()
    np.testing.assert_allclose(s.output, s.concat @ s.out_weight.T + bias, atol=1e-5)
    np.testing.assert_array_equal(s.output, trace.output[0].numpy())


def test_allowed_keys_follow_the_masks(free):
    run, _ = free
    allowed = run.allowed(1)  # (n_layers * H, 3, 3)
    assert allowed.shape == (2, 3, 3)
    expected = np.tril(np.ones((3, 3), dtype=bool)) if run.causal else np.ones((3, 3), bool)
    assert (allowed == expected).all()


def test_head_stats_are_the_analysis_of_every_head(free):
    run, _ = free
    stats = run.head_stats(0)
    heads, allowed = run.weights(0, 0), run.allowed(0)
    np.testing.assert_allclose(stats.entropy, analysis.normalized_entropy(heads, allowed))
    np.testing.assert_allclose(stats.sparsity, analysis.sparsity(heads, 0.9, allowed))
    np.testing.assert_allclose(stats.distances, analysis.head_distances(heads))
    assert stats.groups(0.99).tolist() == [0, 0]


def test_toy_run_keeps_every_layer_and_the_models_answers():
    task, model = TASKS["reverse"], load_pretrained("reverse")
    run = AttentionRun.from_toy(model, task, ["abc", "attention"])
    reference = run_task(model, task, [list("abc"), list("attention")])
    assert run.n_layers == 2 and not run.causal
    assert run.tokens[0] == ("a", "b", "c", "<eos>")
    assert run.predicted[0] == ("c", "b", "a", None) and run.accuracy == 1.0
    for i, trace in enumerate(reference.traces):
        np.testing.assert_array_equal(run.weights(0, i), trace.weights[0, :, :4, :4].numpy())


# ----------------------------------------------------------------------------- exports


def test_weights_table_has_a_row_per_weight_without_padding(free):
    run, _ = free
    table = run.weights_table(0)
    assert list(table.columns) == ["sequence", "layer", "head", "query_pos", "query_token",
                                   "key_pos", "key_token", "weight"]  # fmt: skip
    assert len(table) == 2 * 6 * 6 + 2 * 3 * 3
    pick = (table["sequence"] == 2) & (table["head"] == 2) & (table["query_pos"] == 2)
    row = table[pick & (table["key_pos"] == 1)].iloc[0]
    assert (row["query_token"], row["key_token"], row["layer"]) == ("sat", "dog", 1)
    assert row["weight"] == float(run.weights(1, 0)[1, 2, 1])


def test_weights_json_matches_the_table(free):
    run, _ = free
    export = json.loads(json.dumps(run.weights_json(0)))
    assert export["layer"] == 1 and export["causal"] == run.causal
    assert [s["tokens"] for s in export["sequences"]] == [list(t) for t in run.tokens]
    table = run.weights_table(0)
    second = table[table["sequence"] == 2]["weight"].to_numpy().reshape(2, 3, 3)
    np.testing.assert_allclose(export["sequences"][1]["weights"], second, atol=5e-7)


def test_formula_tokens_are_defused_in_the_csv(layer):
    run = AttentionRun.from_text(layer, '=HYPERLINK("http://x","y") +1+1 -2 @a plain',
                                 mode="whitespace")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(to_csv_bytes(run.weights_table(0)).decode("utf-8-sig"))))
    tokens = {r["query_token"] for r in rows} | {r["key_token"] for r in rows}
    assert tokens == {"'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "-2", "'@a", "plain"}


# ----------------------------------------------------------------------------- readability


def test_the_attention_formula_reads_in_at_most_40_lines():
    """The forward pass, docstring aside, fits on one screen (README links it)."""
    source = inspect.getsource(MultiHeadAttention.forward)
    body = source.split('"""')[2]  # after the docstring
    lines = [line for line in body.strip("\n").splitlines()]
    assert len(lines) <= 40, len(lines)
    assert "torch.softmax(masked_scores" in body and "weights @ v" in body
