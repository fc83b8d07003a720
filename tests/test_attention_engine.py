"""engine.attention: the multi-head module, masks, tokens and analysis.

torch.nn.MultiheadAttention is the oracle: over many random shapes and masks our
output and per-head weights must equal its own within 1e-5.
"""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.attention import (
    AttentionTrace,
    MultiHeadAttention,
    analysis,
    causal_mask,
    random_attention,
)
from engine.attention.tokens import (
    MAX_TOKENS,
    SequenceTooLongError,
    UnknownTokensError,
    Vocabulary,
    embed,
    sinusoidal_positional_encoding,
    token_embeddings,
    tokenize,
    tokenize_lines,
)

ROOT = Path(__file__).resolve().parent.parent
# One torch thread in this module only (the fixture restores the count after it).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------- parity with torch


def _parity_cases(n: int = 80):
    """Random (shape, mask) combinations; masks never block a whole row (torch gives NaN)."""
    rng = np.random.default_rng(2024)
    cases = []
    for i in range(n):
        n_heads = int(rng.choice([1, 2, 3, 4, 8]))
        d_head = int(rng.choice([1, 2, 5, 8, 16]))
        self_attention = bool(rng.random() < 0.6)
        L_q = int(rng.integers(1, 14))
        L_k = L_q if self_attention else int(rng.integers(1, 14))
        case = dict(
            seed=i,
            B=int(rng.integers(1, 4)),
            L_q=L_q,
            L_k=L_k,
            d_model=n_heads * d_head,
            n_heads=n_heads,
            bias=bool(rng.random() < 0.5),
            self_attention=self_attention,
            attn_mask=str(rng.choice(["none", "bool2d", "bool3d", "float2d", "float3d"])),
            padding=bool(rng.random() < 0.5),
            is_causal=self_attention and bool(rng.random() < 0.4),
        )
        cases.append(case)
    return cases


def _case_id(c):
    kind = "self" if c["self_attention"] else "cross"
    return (
        f"{kind}-B{c['B']}-Lq{c['L_q']}-Lk{c['L_k']}-d{c['d_model']}-h{c['n_heads']}"
        f"-bias{int(c['bias'])}-{c['attn_mask']}-pad{int(c['padding'])}-causal{int(c['is_causal'])}"
    )


# Under autograd the engine keeps every tensor; under inference mode it overwrites the scores
# in place (and torch takes its fused fast path), so both modes are checked.
@pytest.mark.parametrize("mode", ["autograd", "inference"])
@pytest.mark.parametrize("case", _parity_cases(), ids=_case_id)
def test_matches_torch_multihead_attention(case, mode):
    g = torch.Generator().manual_seed(case["seed"])
    B, L_q, L_k, d, h = case["B"], case["L_q"], case["L_k"], case["d_model"], case["n_heads"]
    torch.manual_seed(case["seed"])
    ref = torch.nn.MultiheadAttention(d, h, bias=case["bias"], batch_first=True).eval()
    if case["bias"]:  # torch initialises biases to 0; make them count
        with torch.no_grad():
            ref.in_proj_bias.normal_(generator=g)
            ref.out_proj.bias.normal_(generator=g)
    ours = MultiHeadAttention.from_torch(ref)

    query = torch.randn(B, L_q, d, generator=g)
    if case["self_attention"]:
        key = value = query
    else:
        key, value = torch.randn(B, L_k, d, generator=g), torch.randn(B, L_k, d, generator=g)

    use_float = case["attn_mask"].startswith("float")
    attn_mask = None
    if case["attn_mask"] != "none":
        shape = (L_q, L_k) if case["attn_mask"].endswith("2d") else (B * h, L_q, L_k)
        blocked = torch.rand(shape, generator=g) < 0.3
        blocked[..., 0] = False  # key 0 stays visible: no fully masked row
        attn_mask = (
            torch.randn(shape, generator=g).masked_fill(blocked, -math.inf)
            if use_float
            else blocked
        )
    key_padding_mask = None
    if case["padding"]:
        lengths = torch.randint(1, L_k + 1, (B,), generator=g)
        key_padding_mask = torch.arange(L_k)[None, :] >= lengths[:, None]
        if use_float:
            key_padding_mask = torch.zeros(B, L_k).masked_fill(key_padding_mask, -math.inf)

    torch_mask = attn_mask
    if case["is_causal"]:
        # torch treats is_causal as a hint that attn_mask *is* the causal mask.
        causal = causal_mask(L_q)
        if attn_mask is None:
            torch_mask = causal
        elif use_float:
            torch_mask = attn_mask.masked_fill(causal, -math.inf)
        else:
            torch_mask = attn_mask | causal

    user_masks = [m for m in (attn_mask, key_padding_mask) if m is not None]
    masks_before = [m.clone() for m in user_masks]
    with torch.inference_mode(mode == "inference"):
        expected_out, expected_w = ref(
            query, key, value, need_weights=True, average_attn_weights=False,
            attn_mask=torch_mask, key_padding_mask=key_padding_mask, is_causal=case["is_causal"],
        )  # fmt: skip
        out, weights = ours(
            query, key, value, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
            is_causal=case["is_causal"],
        )  # fmt: skip
    assert out.requires_grad == (mode == "autograd")
    # Working in place never reaches the caller's masks.
    for after, before in zip(user_masks, masks_before, strict=True):
        torch.testing.assert_close(after, before, rtol=0, atol=0)
    assert weights.shape == (B, h, L_q, L_k)
    assert out.shape == (B, L_q, d)
    torch.testing.assert_close(weights, expected_w, atol=1e-5, rtol=0)
    torch.testing.assert_close(out, expected_out, atol=1e-5, rtol=0)


def test_from_torch_keeps_dtype_and_training_mode():
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
    ours = MultiHeadAttention.from_torch(ref)
    assert ours.q_proj.weight.dtype == torch.float64
    assert ours.training
    assert not MultiHeadAttention.from_torch(ref.eval()).training


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_first=False), "batch_first=True"),
        (dict(batch_first=True, kdim=4), "kdim == vdim == embed_dim"),
        (dict(batch_first=True, add_bias_kv=True), "add_bias_kv"),
        (dict(batch_first=True, add_zero_attn=True), "add_zero_attn"),
    ],
    ids=["seq-first", "kdim", "bias-kv", "zero-attn"],
)
def test_from_torch_rejects_unsupported_modules(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadAttention.from_torch(torch.nn.MultiheadAttention(8, 2, **kwargs))


# ----------------------------------------------------------------------------- the formula itself


def test_textbook_configuration_runs():
    mha = MultiHeadAttention(d_model=512, n_heads=8)
    assert mha.d_head == 64
    x = torch.randn(1, 10, 512)
    out, weights = mha(x, x, x)
    assert out.shape == (1, 10, 512)
    assert weights.shape == (1, 8, 10, 10)


def test_hand_computed_single_head():
    """Identity projections: scores = x xᵀ / √2, so row 0 is softmax([1/√2, 0])."""
    mha = MultiHeadAttention(d_model=2, n_heads=1, bias=False)
    with torch.no_grad():
        for proj in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
            proj.weight.copy_(torch.eye(2))
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    out, weights = mha(x, x, x)
    a = math.exp(1 / math.sqrt(2)) / (math.exp(1 / math.sqrt(2)) + 1)  # 0.6698...
    torch.testing.assert_close(weights[0, 0], torch.tensor([[a, 1 - a], [1 - a, a]]))
    torch.testing.assert_close(out[0], torch.tensor([[a, 1 - a], [1 - a, a]]))
    # causal: the first query can only see itself
    _, causal = mha(x, x, x, is_causal=True)
    torch.testing.assert_close(causal[0, 0], torch.tensor([[1.0, 0.0], [1 - a, a]]))


def test_trace_intermediates_follow_the_formula():
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_model=12, n_heads=3).eval()
    x = torch.randn(2, 5, 12)
    padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    t = mha(x, x, x, key_padding_mask=padding, is_causal=True, return_intermediates=True)
    assert isinstance(t, AttentionTrace)
    assert t.q.shape == t.k.shape == t.v.shape == (2, 3, 5, 4)
    torch.testing.assert_close(t.scores, t.q @ t.k.transpose(-2, -1) / 2.0)  # √d_head = 2
    assert t.mask.shape == (2, 3, 5, 5)
    assert torch.isneginf(t.mask[1, :, :, 3:]).all()  # padding keys blocked for every query
    assert torch.isneginf(t.mask[0, 0][causal_mask(5)]).all()
    torch.testing.assert_close(t.masked_scores, t.scores + t.mask)
    torch.testing.assert_close(t.weights, torch.softmax(t.masked_scores, dim=-1))
    torch.testing.assert_close(t.head_outputs, t.weights @ t.v)
    torch.testing.assert_close(t.concat[:, :, 4:8], t.head_outputs[:, 1])  # head 1's columns
    torch.testing.assert_close(t.output, mha.out_proj(t.concat))
    out, weights = mha(x, x, x, key_padding_mask=padding, is_causal=True)
    torch.testing.assert_close(out, t.output)
    torch.testing.assert_close(weights, t.weights)
    assert "n_heads=3" in repr(t)


def test_no_mask_trace_has_no_mask():
    mha = MultiHeadAttention(d_model=4, n_heads=2)
    x = torch.randn(1, 3, 4)
    t = mha(x, x, x, return_intermediates=True)
    assert t.mask is None and t.masked_scores is t.scores
    assert not t.fully_masked.any()


def test_fully_masked_row_gives_zero_weights_not_nan():
    torch.manual_seed(1)
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    ours = MultiHeadAttention.from_torch(ref)
    x = torch.randn(1, 4, 8)
    attn_mask = torch.zeros(4, 4, dtype=torch.bool)
    attn_mask[2] = True  # query 2 may attend to nothing
    ref_out, ref_w = ref(x, x, x, attn_mask=attn_mask, average_attn_weights=False)
    assert torch.isnan(ref_w[0, :, 2]).all()  # what torch does

    trace = ours(x, x, x, attn_mask=attn_mask, return_intermediates=True)
    assert torch.isfinite(trace.output).all() and torch.isfinite(trace.weights).all()
    assert (trace.weights[0, :, 2] == 0).all()
    assert trace.fully_masked[0, :, 2].all() and trace.fully_masked.sum() == 2
    # A zero head output leaves only the output projection's bias.
    torch.testing.assert_close(trace.output[0, 2], ours.out_proj.bias)
    # The other rows are untouched and equal torch's.
    keep = [0, 1, 3]
    torch.testing.assert_close(trace.weights[0, :, keep], ref_w[0, :, keep])
    torch.testing.assert_close(trace.output[0, keep], ref_out[0, keep])
    # The in-place path (no trace, no autograd) gives the same zero row.
    with torch.inference_mode():
        out, weights = ours(x, x, x, attn_mask=attn_mask)
    torch.testing.assert_close(weights, trace.weights.detach(), rtol=0, atol=0)
    torch.testing.assert_close(out, trace.output.detach(), rtol=0, atol=0)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: MultiHeadAttention(10, 3), r"d_model=10 is not divisible by n_heads=3"),
        (lambda: MultiHeadAttention(0, 1), "d_model must be a positive integer"),
        (lambda: MultiHeadAttention(8, 2.0), "n_heads must be a positive integer"),
        (lambda: MultiHeadAttention(8, 2, dropout=1.5), "dropout"),
    ],
    ids=["indivisible", "zero-width", "float-heads", "dropout"],
)
def test_bad_construction_raises(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def _x(*shape):
    return torch.randn(*shape)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((_x(5, 8), _x(5, 8), _x(5, 8)), {}, r"query must have rank 3.*\(5, 8\).*unsqueeze"),
        ((_x(1, 5, 8), _x(5, 8), _x(1, 5, 8)), {}, "key must have rank 3"),
        ((_x(1, 5, 6), _x(1, 5, 8), _x(1, 5, 8)), {}, "query has last dimension 6.*d_model=8"),
        ((_x(1, 5, 8), _x(1, 4, 8), _x(1, 5, 8)), {}, "key and value must have the same length"),
        ((_x(2, 5, 8), _x(1, 5, 8), _x(1, 5, 8)), {}, "same batch size"),
        ((_x(1, 0, 8), _x(1, 0, 8), _x(1, 0, 8)), {}, "must not be empty"),
        ((_x(1, 3, 8), _x(1, 5, 8), _x(1, 5, 8)), dict(is_causal=True), "is_causal=True needs"),
        ((_x(1, 5, 8),) * 3, dict(attn_mask=torch.zeros(4, 5)), r"attn_mask must have shape"),
        ((_x(1, 5, 8),) * 3, dict(attn_mask=torch.zeros(5, 5, dtype=torch.long)), "bool or float"),
        ((_x(2, 5, 8),) * 3, dict(key_padding_mask=torch.zeros(1, 5, dtype=torch.bool)),
         r"key_padding_mask must have shape \(batch, L_k\)=\(2, 5\)"),
        ((torch.ones(1, 5, 8, dtype=torch.long),) * 3, {}, "floating-point"),
        (([[1.0] * 8],) * 3, {}, "query must be a torch.Tensor"),
    ],
    ids=["rank2-query", "rank2-key", "width", "kv-length", "batch", "empty", "causal-cross",
         "attn-mask-shape", "attn-mask-dtype", "padding-shape", "int-input", "list-input"],
)  # fmt: skip
def test_bad_inputs_raise_value_error_naming_the_problem(args, kwargs, match):
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=match):
        mha(*args, **kwargs)


def test_random_attention_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    expected_next = torch.rand(1)
    torch.manual_seed(5)
    a = random_attention(16, 4, seed=1)
    assert torch.rand(1) == expected_next
    b = random_attention(16, 4, seed=1)
    torch.testing.assert_close(a.q_proj.weight, b.q_proj.weight)
    assert not torch.equal(a.q_proj.weight, random_attention(16, 4, seed=2).q_proj.weight)
    shared = random_attention(16, 4, seed=1, sharpness=2.0, shared_qk=True)
    torch.testing.assert_close(shared.q_proj.weight, 2 * a.q_proj.weight)
    torch.testing.assert_close(shared.k_proj.weight, shared.q_proj.weight)
    assert not shared.training


# ----------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    B=st.integers(1, 3),
    L=st.integers(1, 12),
    n_heads=st.sampled_from([1, 2, 4]),
    causal=st.booleans(),
    pad=st.booleans(),
)
def test_weights_rows_sum_to_one_and_causal_upper_triangle_is_zero(
    seed, B, L, n_heads, causal, pad
):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    mha = MultiHeadAttention(8, n_heads).eval()
    x = torch.randn(B, L, 8, generator=g) * 3
    lengths = torch.randint(1, L + 1, (B,), generator=g) if pad else torch.full((B,), L)
    padding = torch.arange(L)[None, :] >= lengths[:, None]
    _, w = mha(x, x, x, key_padding_mask=padding, is_causal=causal)
    torch.testing.assert_close(w.sum(-1), torch.ones(B, n_heads, L))
    assert (w >= 0).all()
    assert (w.masked_select(padding[:, None, None, :].expand_as(w)) == 0).all()
    if causal:
        assert (w[..., causal_mask(L)] == 0).all()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    words=st.lists(st.text(min_size=1, max_size=3), min_size=2, max_size=10),
)
def test_without_positions_permuting_tokens_permutes_the_output(seed, words):
    torch.manual_seed(seed)
    mha = MultiHeadAttention(16, 4).eval()
    perm = torch.randperm(len(words))
    permuted = [words[i] for i in perm]
    x = embed(_batch(words), 16, seed, positional=False)
    xp = embed(_batch(permuted), 16, seed, positional=False)
    out, w = mha(x, x, x)
    out_p, w_p = mha(xp, xp, xp)
    torch.testing.assert_close(out_p[0], out[0, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w_p[0], w[0][:, perm][:, :, perm], atol=1e-6, rtol=1e-5)


def test_with_positions_permuting_tokens_changes_the_output():
    words = ["the", "cat", "sat", "down"]
    mha = MultiHeadAttention(16, 4).eval()
    perm = [3, 1, 0, 2]
    x = embed(_batch(words), 16, 0, positional=True)
    xp = embed(_batch([words[i] for i in perm]), 16, 0, positional=True)
    out, out_p = mha(x, x, x)[0], mha(xp, xp, xp)[0]
    assert not torch.allclose(out_p[0], out[0, perm], atol=1e-3)


def _batch(tokens):
    from engine.attention.tokens import pad

    return pad([tokens])


# ----------------------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    "mode, line, expected",
    [
        ("words", "Don't stop!", ["Don", "'", "t", "stop", "!"]),
        ("words", "<b>x</b>", ["<", "b", ">", "x", "<", "/", "b", ">"]),
        ("whitespace", "<b>bold</b>  &amp; 🙂", ["<b>bold</b>", "&amp;", "🙂"]),
        ("characters", "a b", ["a", " ", "b"]),
        ("words", "שלום עולם", ["שלום", "עולם"]),
    ],
    ids=["words", "html-words", "whitespace", "characters", "rtl"],
)
def test_tokenizers(mode, line, expected):
    assert tokenize(line, mode) == expected


def test_tokenize_lines_pads_and_masks():
    batch = tokenize_lines("a b c\n\n   \nd", "whitespace")
    assert batch.tokens == [["a", "b", "c"], ["d"]]
    assert batch.key_padding_mask.tolist() == [[False] * 3, [False, True, True]]
    assert batch.shape == (2, 3) and batch.lengths == [3, 1]


@pytest.mark.parametrize("text", ["", "   \n\n  ", "\t"], ids=["empty", "blank-lines", "tab"])
def test_tokenize_lines_rejects_empty_text(text):
    with pytest.raises(ValueError, match="empty"):
        tokenize_lines(text)


def test_too_long_sequence_raises_or_truncates():
    text = "x " * (MAX_TOKENS + 5) + "\nshort"
    with pytest.raises(
        SequenceTooLongError, match=f"line 1 has {MAX_TOKENS + 5} tokens; the limit is {MAX_TOKENS}"
    ):
        tokenize_lines(text, "whitespace")
    batch = tokenize_lines(text, "whitespace", truncate=True)
    assert batch.lengths == [MAX_TOKENS, 1] and batch.truncated == [5, 0]


def test_unknown_tokens_are_listed():
    vocab = Vocabulary(["a", "b"])
    assert vocab.encode(["b", "a"]) == [1, 0]
    with pytest.raises(UnknownTokensError, match="2 token") as info:
        vocab.encode(["a", "Z", "?", "Z"])
    assert info.value.unknown == ["Z", "?"]


def test_token_embedding_depends_only_on_seed_and_token():
    a = token_embeddings(["cat", "dog"], 8, seed=3)
    b = token_embeddings(["bird", "cat"], 8, seed=3)
    torch.testing.assert_close(a[0], b[1])
    assert not torch.allclose(a[0], token_embeddings(["cat"], 8, seed=4)[0])


@pytest.mark.parametrize("d_model", [4, 7, 16])
def test_sinusoidal_positional_encoding_values(d_model):
    pe = sinusoidal_positional_encoding(5, d_model)
    assert pe.shape == (5, d_model)
    torch.testing.assert_close(pe[0, 0::2], torch.zeros((d_model + 1) // 2))
    torch.testing.assert_close(pe[0, 1::2], torch.ones(d_model // 2))
    assert pe[3, 0].item() == pytest.approx(math.sin(3))
    assert pe[3, 2].item() == pytest.approx(math.sin(3 / 10000 ** (2 / d_model)), rel=1e-5)


def test_embed_zeroes_padding_and_adds_positions():
    batch = tokenize_lines("a b c\nd", "whitespace")
    x = embed(batch, 6, seed=0, positional=True)
    assert (x[1, 1:] == 0).all()
    torch.testing.assert_close(
        x[0, 2] - token_embeddings(["c"], 6, 0)[0], sinusoidal_positional_encoding(3, 6)[2]
    )


# ----------------------------------------------------------------------------- analysis


def test_entropy_and_sparsity_of_extreme_heads():
    uniform = np.full((4, 4), 0.25)
    one_hot = np.eye(4)
    w = np.stack([uniform, one_hot])
    np.testing.assert_allclose(analysis.entropy(w), [np.log(4), 0.0])
    np.testing.assert_allclose(analysis.normalized_entropy(w), [1.0, 0.0])
    np.testing.assert_allclose(analysis.sparsity(w), [1 - 4 / 4, 1 - 1 / 4])
    np.testing.assert_allclose(analysis.sparsity(w, mass=0.5), [1 - 2 / 4, 1 - 1 / 4])


def test_causal_rows_count_only_the_keys_they_may_see():
    causal_uniform = np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None]
    allowed = np.tril(np.ones((3, 3), dtype=bool))
    # row 0 has one allowed key (no choice) and is left out; rows 1, 2 are even spreads
    np.testing.assert_allclose(analysis.normalized_entropy(causal_uniform[None], allowed), [1.0])
    np.testing.assert_allclose(analysis.sparsity(causal_uniform[None], allowed=allowed), [0.0])
    assert analysis.normalized_entropy(causal_uniform[None])[0] < 1.0  # all 3 keys counted


def test_fully_masked_rows_are_left_out_of_averages():
    w = np.array([[[0.5, 0.5], [0.0, 0.0]]])
    np.testing.assert_allclose(analysis.entropy(w), [np.log(2)])


def test_rollout_of_identity_layers_is_identity_and_rows_sum_to_one():
    eye = np.eye(3)[None]
    np.testing.assert_allclose(analysis.rollout([eye, eye]), np.eye(3))
    rng = np.random.default_rng(0)
    layers = [rng.dirichlet(np.ones(5), size=(2, 5)) for _ in range(3)]
    r = analysis.rollout(layers)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)
    # without the residual, rollout is the plain product of head-averaged maps
    np.testing.assert_allclose(
        analysis.rollout(layers, residual=False),
        layers[2].mean(0) @ layers[1].mean(0) @ layers[0].mean(0),
    )


def test_head_distances_and_groups():
    diag, prev = np.eye(4), np.eye(4, k=-1)
    prev[0, 0] = 1
    heads = np.stack([diag, prev, diag * 0.98 + 0.005, prev])
    d = analysis.head_distances(heads)
    assert d[0, 0] == 0 and d[0, 1] == pytest.approx(np.sqrt(0.75))  # 3 of 4 rows disjoint
    assert d[1, 3] == 0 and d[0, 2] < 0.2
    np.testing.assert_array_equal(analysis.group_heads(d, threshold=0.3), [0, 1, 0, 1])
    np.testing.assert_array_equal(analysis.group_heads(d, threshold=1.0), [0, 0, 0, 0])


def test_aggregate_and_query_attention():
    w = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.2, 0.8]]])
    np.testing.assert_allclose(analysis.aggregate_heads(w, "mean"), [[0.5, 0.5], [0.35, 0.65]])
    np.testing.assert_allclose(analysis.aggregate_heads(w, "max"), [[1.0, 1.0], [0.5, 0.8]])
    np.testing.assert_allclose(analysis.query_attention(w[0], [0, 1]), [1.5, 0.5])
    with pytest.raises(ValueError, match="query positions"):
        analysis.query_attention(w[0], [2])


# ----------------------------------------------------------------------------- layering


ENGINE_FILES = sorted(p.name for p in (ROOT / "engine" / "attention").glob("*.py"))


@pytest.mark.parametrize("name", ENGINE_FILES)
def test_engine_module_imports_no_ui_library(name):
    tree = ast.parse((ROOT / "engine" / "attention" / name).read_text())
    imported = {
        (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in getattr(node, "names", [])
    }
    assert not imported & {"streamlit", "plotly"}


def test_importing_the_attention_engine_loads_no_ui_library():
    code = (
        "import sys, engine.attention, engine.attention.tokens, engine.attention.training,"
        " engine.attention.weights, engine.attention.analysis, engine.attention.run;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
