"""engine.clustered_attention: exactness against the Lab's own attention module and PyTorch.

The oracles are ``torch.nn.functional.scaled_dot_product_attention`` and
:class:`engine.attention.MultiHeadAttention` with identity projections (so its per-head
queries, keys and values are exactly the tensors given here). Properties that hold exactly
in real arithmetic are checked in float64 (to 1e-10) and float32 (to 1e-5); nothing
compares float32 results bit for bit, except rows that are copies of one row.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from engine.attention import MultiHeadAttention
from engine.attention.tasks import TASKS
from engine.attention.training import evaluate
from engine.attention.weights import load_pretrained
from engine.clustered_attention import (
    ClusterCountError,
    ClusteredAttentionError,
    MaskError,
    NonFiniteError,
    ShapeError,
    TopKError,
    cluster_queries,
    clustered_attention,
    improved_clustered_attention,
)
from engine.clustered_attention.analysis import (
    epsilon_bound,
    operation_counts,
    project_queries,
    relative_error,
)
from engine.clustered_attention.readable import clustered_head, improved_clustered_head
from engine.clustered_attention.run import ClusteredRun, HeadInputs, error_curves
from engine.clustered_attention.toy import toy_accuracy, with_clustered_head

# One torch thread in this module only (the fixture restores the count after it).
pytestmark = pytest.mark.usefixtures("one_torch_thread")
sdpa = torch.nn.functional.scaled_dot_product_attention
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])


def _heads(B=2, H=3, L=24, S=None, d=8, d_v=5, *, distinct=None, dtype=torch.float64, seed=0):
    """Random per-head q (B, H, L, d), k (B, H, S, d), v (B, H, S, d_v); with ``distinct``,
    the queries are copies of that many rows (repeated exactly, bit for bit)."""
    g = torch.Generator().manual_seed(seed)
    S = L if S is None else S
    q = torch.randn(B, H, L, d, generator=g, dtype=dtype)
    if distinct is not None:
        rows = torch.randint(0, distinct, (L,), generator=g)
        rows[:distinct] = torch.arange(distinct)  # every distinct row appears
        q = q[:, :, :distinct][:, :, rows]
    k = torch.randn(B, H, S, d, generator=g, dtype=dtype)
    v = torch.randn(B, H, S, d_v, generator=g, dtype=dtype)
    return q, k, v


def _lab_attention(q, k, v, *, is_causal=False, key_padding_mask=None):
    """The Lab's MultiHeadAttention on given per-head tensors: identity projections.

    Returns its per-head outputs (B, H, L, d_v) and weights (B, H, L, S).
    """
    B, H, L, d = q.shape
    assert v.shape[-1] == d, "the module's heads share one width"
    mha = MultiHeadAttention(H * d, H).to(q.dtype)
    with torch.no_grad():
        for proj in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
            proj.weight.copy_(torch.eye(H * d))
            proj.bias.zero_()
    merge = lambda t: t.transpose(1, 2).reshape(B, t.shape[2], H * d)  # noqa: E731
    trace = mha(merge(q), merge(k), merge(v), is_causal=is_causal,
                key_padding_mask=key_padding_mask, return_intermediates=True)  # fmt: skip
    assert torch.equal(trace.q, q)  # identity projections kept every bit
    return trace.head_outputs, trace.weights


# ----------------------------------------------------------------------------- exactness


@DTYPES
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_clustered_equals_full_attention_with_one_cluster_per_distinct_query(dtype, causal):
    q, k, v = _heads(L=30, d=6, d_v=6, distinct=9, dtype=dtype)
    out, info = clustered_attention(q, k, v, 9, random_state=0, is_causal=causal)
    assert (info.counts > 0).all()  # exact K-means found all 9 distinct queries
    tol = TOL[dtype]
    torch.testing.assert_close(out, sdpa(q, k, v, is_causal=causal), atol=tol, rtol=0)
    lab_out, lab_weights = _lab_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(out, lab_out, atol=tol, rtol=0)
    torch.testing.assert_close(info.weights, lab_weights, atol=tol, rtol=0)


@DTYPES
@pytest.mark.parametrize(
    ("n_clusters", "hash_bits", "causal"),
    [(1, None, False), (4, None, False), (4, 8, False), (24, None, False), (3, None, True),
     (5, 6, True)],
    ids=["C=1", "C=4", "C=4-lsh", "C=L", "C=3-causal", "C=5-lsh-causal"],
)  # fmt: skip
def test_improved_equals_full_attention_when_topk_is_every_key(
    dtype, n_clusters, hash_bits, causal
):
    q, k, v = _heads(L=24, d=6, d_v=6, dtype=dtype, seed=n_clusters)
    expected = sdpa(q, k, v, is_causal=causal)
    lab_out, lab_weights = _lab_attention(q, k, v, is_causal=causal)
    for need_weights in (False, True):
        out, info = improved_clustered_attention(
            q, k, v, n_clusters, topk=24, hash_bits=hash_bits, random_state=1,
            is_causal=causal, need_weights=need_weights,
        )  # fmt: skip
        torch.testing.assert_close(out, expected, atol=TOL[dtype], rtol=0)
        torch.testing.assert_close(out, lab_out, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(info.weights, lab_weights, atol=TOL[dtype], rtol=0)


def test_improved_with_every_real_key_equals_full_attention_under_padding():
    q, k, v = _heads(B=2, L=20, S=16)
    padding = torch.zeros(2, 16, dtype=torch.bool)
    padding[0, 11:] = True  # sequence 0 has 11 real keys, sequence 1 has 16
    expected = sdpa(q, k, v, attn_mask=~padding[:, None, None, :])
    for need_weights in (False, True):
        out, info = improved_clustered_attention(q, k, v, 3, topk=16, random_state=0,
                                                 key_padding_mask=padding,
                                                 need_weights=need_weights)  # fmt: skip
        torch.testing.assert_close(out, expected, atol=1e-10, rtol=0)
    assert (info.weights[0, :, :, 11:] == 0).all()  # no attention on padding


@pytest.mark.parametrize("hash_bits", [None, 8], ids=["kmeans", "lsh"])
def test_queries_of_one_cluster_get_identical_rows(hash_bits):
    q, k, v = _heads(B=1, H=2, L=40, dtype=torch.float32)
    out, info = clustered_attention(q, k, v, 5, hash_bits=hash_bits, random_state=0)
    for h in range(2):
        for c in info.labels[0, h].unique():
            members = torch.nonzero(info.labels[0, h] == c).flatten()
            for rows in (info.weights[0, h, members], out[0, h, members]):
                assert len(members) >= 1
                assert torch.equal(rows, rows[:1].expand_as(rows))  # copies of one row


# ----------------------------------------------------------------------------- the readable loops


@pytest.mark.parametrize("hash_bits", [None, 12], ids=["kmeans", "lsh"])
@pytest.mark.parametrize(("L", "S", "C", "k"), [(30, 20, 1, 1), (30, 20, 6, 4), (17, 40, 17, 40),
                                                (64, 9, 10, 9)])  # fmt: skip
def test_vectorised_functions_compute_the_papers_loops(hash_bits, L, S, C, k):
    q, k_, v = _heads(B=2, H=2, L=L, S=S, seed=L + C)
    out_c, info_c = clustered_attention(q, k_, v, C, hash_bits=hash_bits, random_state=3)
    fast_c, _ = clustered_attention(q, k_, v, C, hash_bits=hash_bits, random_state=3,
                                    need_weights=False)  # fmt: skip
    out_i, info_i = improved_clustered_attention(q, k_, v, C, topk=k, hash_bits=hash_bits,
                                                 random_state=3)  # fmt: skip
    fast_i, _ = improved_clustered_attention(q, k_, v, C, topk=k, hash_bits=hash_bits,
                                             random_state=3, need_weights=False)  # fmt: skip
    assert torch.equal(info_c.labels, info_i.labels)  # same seed, same clusters
    for b in range(2):
        for h in range(2):
            args = (q[b, h], k_[b, h], v[b, h], info_c.labels[b, h])
            for got in (out_c, fast_c):
                torch.testing.assert_close(got[b, h], clustered_head(*args), atol=1e-12, rtol=0)
            for got in (out_i, fast_i):
                torch.testing.assert_close(got[b, h], improved_clustered_head(*args, k),
                                           atol=1e-12, rtol=0)  # fmt: skip
    for out, info in ((out_c, info_c), (out_i, info_i)):
        torch.testing.assert_close(info.weights @ v, out, atol=1e-12, rtol=0)
        torch.testing.assert_close(info.weights.sum(-1), torch.ones(2, 2, L, dtype=q.dtype))


class _LargestTensor(TorchDispatchMode):
    """Records the most elements of any tensor an operation produced."""

    largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("method", [clustered_attention, improved_clustered_attention])
@pytest.mark.parametrize("hash_bits", [None, 16], ids=["kmeans", "lsh"])
def test_without_weights_no_tensor_grows_like_L_times_S(method, hash_bits):
    L = S = 512
    q, k, v = _heads(B=1, H=2, L=L, d=16, d_v=16, dtype=torch.float32)
    topk = {"topk": 8} if method is improved_clustered_attention else {}
    with _LargestTensor() as mode:
        method(q, k, v, 8, hash_bits=hash_bits, random_state=0, need_weights=False, **topk)
    # C·S per head, and at most 2L tiled queries × max(d, k) per head: never L·S.
    assert mode.largest <= 2 * (2 * L) * 16 == L * S / 8
    with _LargestTensor() as mode:
        method(q, k, v, 8, hash_bits=hash_bits, random_state=0, **topk)
    assert mode.largest >= 2 * L * S  # asked for: the weights of both heads


# ----------------------------------------------------------------------------- clustering


def test_clustering_is_reproducible_and_groups_identical_queries():
    q, _, _ = _heads(B=1, H=2, L=60, distinct=12, dtype=torch.float32)
    for hash_bits in (None, 10):
        a = cluster_queries(q, 6, hash_bits=hash_bits, random_state=7)
        b = cluster_queries(q, 6, hash_bits=hash_bits, random_state=7)
        assert torch.equal(a.labels, b.labels)
        for h in range(2):  # identical queries always share a cluster
            _, first = np.unique(q[0, h].numpy(), axis=0, return_inverse=True)
            for group in np.unique(first):
                assert len(a.labels[0, h, first == group].unique()) == 1
        torch.testing.assert_close(a.counts.sum(-1), torch.full((1, 2), 60))
    assert a.codes.shape == (1, 2, 60, 10) and a.codes.dtype == torch.bool


def test_centroids_are_the_means_of_their_queries():
    q, _, _ = _heads(B=1, H=1, L=50)
    clusters = cluster_queries(q, 5, random_state=0)
    for c in range(5):
        members = q[0, 0, clusters.labels[0, 0] == c]
        torch.testing.assert_close(clusters.centroids[0, 0, c], members.mean(0))


def test_more_clusters_than_distinct_queries_leaves_the_extra_ones_empty():
    q, k, v = _heads(B=1, H=1, L=20, distinct=3)
    out, info = clustered_attention(q, k, v, 5, random_state=0)
    assert int((info.counts[0, 0] == 0).sum()) == 2
    torch.testing.assert_close(out, sdpa(q, k, v), atol=1e-10, rtol=0)  # still exact


# ----------------------------------------------------------------------------- bad input

Q, K, V = _heads(B=1, H=2, L=10, S=8, d=4, d_v=3, dtype=torch.float32)
NAN = Q.clone()
NAN[0, 1, 3, 2] = float("nan")
INF = K.clone()
INF[0, 0, 0, 0] = float("inf")
BAD = [
    # (arguments, error, what the message must say)
    (dict(query=Q[0]), ShapeError, r"query must have shape \(batch, heads, length, features\)"),
    (dict(key=K[..., :3]), ShapeError, "key has 3 features per head but query has 4"),
    (dict(value=V[:, :, :5]), ShapeError, "key and value must have the same length; got 8 and 5"),
    (dict(key=K[:, :1]), ShapeError, "must share batch and heads"),
    (dict(query=Q[:, :, :0]), ShapeError, "must not be empty"),
    (dict(value=V.double()), ShapeError, "must share a dtype"),
    (dict(query=Q.long()), ShapeError, "floating-point"),
    (dict(n_clusters=0), ClusterCountError, "n_clusters=0 should be between 1 and .* L=10"),
    (dict(n_clusters=11), ClusterCountError, "n_clusters=11 should be between 1 and .* L=10"),
    (dict(n_clusters=2.5), ClusteredAttentionError, "n_clusters must be an integer"),
    (dict(n_clusters=True), ClusteredAttentionError, "n_clusters must be an integer"),
    (dict(topk=0), TopKError, "topk=0 should be between 1 and the number of keys S=8"),
    (dict(topk=9), TopKError, "topk=9 should be between 1 and the number of keys S=8"),
    (dict(query=NAN), NonFiniteError, "query contains 1 NaN or infinite"),
    (dict(key=INF), NonFiniteError, "key contains 1 NaN or infinite"),
    (dict(hash_bits=0), ClusteredAttentionError, "hash_bits=0 should be between 1 and 64"),
    (dict(hash_bits=65), ClusteredAttentionError, "hash_bits=65 should be between 1 and 64"),
    (dict(n_iter=0), ClusteredAttentionError, "n_iter=0 should be >= 1"),
    (dict(is_causal=True), MaskError, "is_causal=True needs as many queries as keys"),
    (dict(key_padding_mask=torch.zeros(1, 8)), MaskError, "must be a bool tensor"),
    (dict(key_padding_mask=torch.zeros(1, 7, dtype=torch.bool)), MaskError, r"\(1, 8\)"),
    (dict(key_padding_mask=torch.ones(1, 8, dtype=torch.bool)), MaskError, "every key"),
]


CASES = [(method, *row) for method in (clustered_attention, improved_clustered_attention)
         for row in BAD if method is improved_clustered_attention or "topk" not in row[0]]


@pytest.mark.parametrize(("method", "changes", "error", "match"), CASES,
                         ids=[f"{m.__name__[:8]}-{t[:40]}" for m, _, _, t in CASES])
def test_bad_input_raises_a_typed_error_naming_the_rule(method, changes, error, match):
    args = dict(query=Q, key=K, value=V, n_clusters=3, random_state=0) | changes
    if method is improved_clustered_attention:
        args.setdefault("topk", 2)
    with pytest.raises(error, match=match):
        method(**args)


# ----------------------------------------------------------------------------- analysis


def test_the_epsilon_bound_holds_for_every_pair():
    rng = np.random.default_rng(0)
    for _ in range(50):
        d = int(rng.integers(1, 16))
        keys = rng.normal(size=(int(rng.integers(1, 30)), d)) * rng.uniform(0.1, 5)
        q_i, q_j = rng.normal(size=(2, d)) * rng.uniform(0.1, 5)
        bound = epsilon_bound(q_i, q_j, keys)
        assert bound.difference <= bound.bound + 1e-12
        assert bound.epsilon == pytest.approx(np.linalg.norm(q_i - q_j))
        assert bound.row_i.sum() == pytest.approx(1.0)
    same = epsilon_bound(np.ones(3), np.ones(3), np.eye(3))
    assert same.bound == same.difference == 0.0


def test_operation_counts_by_hand():
    counts = operation_counts(L=100, S=80, d=8, d_v=4, n_clusters=10, topk=5, n_iter=3)
    assert counts.full == 100 * 80 * 12
    assert counts.clustering == 3 * 100 * 10 * 8
    assert counts.clustered == 100 * 8 + 10 * 80 * 12
    assert counts.improved == counts.clustered + 100 * 5 * 12
    hashed = operation_counts(L=100, S=80, d=8, d_v=4, n_clusters=10, topk=5, n_iter=3,
                              hash_bits=16)  # fmt: skip
    assert hashed.clustering == 100 * 16 * 8 + 3 * 100 * 10 * 16


def test_projection_maps_a_cluster_mean_to_the_mean_of_its_projections():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(30, 6)) * [5, 3, 1, 1, 0.5, 0.1]
    centroid = q[:7].mean(axis=0)
    view = project_queries(q, centroid[None])
    np.testing.assert_allclose(view.centroids[0], view.queries[:7].mean(axis=0), atol=1e-12)
    assert 0.5 < view.explained <= 1.0
    assert project_queries(q[:1], q[:1]).queries.shape == (1, 2)  # one query: no crash


def test_relative_error():
    assert relative_error(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(1.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


# ----------------------------------------------------------------------------- a head, the toys


def test_a_run_is_exact_with_a_cluster_per_query_or_every_key():
    head = HeadInputs.from_text("the cat sat on the mat and the dog", d_model=16, n_heads=2)
    L = head.length
    assert ClusteredRun.compute(head, L, 1, seed=0).error_clustered < 1e-12
    run = ClusteredRun.compute(head, 2, L, seed=0)
    assert run.error_improved < 1e-12 < run.error_clustered
    np.testing.assert_allclose(run.improved, run.full, atol=1e-12)
    curves = error_curves(head, 2, 3, n_points=5)
    assert curves.n_clusters[-1] == L and curves.clustered[-1] < 1e-12
    assert curves.topk_values[-1] == L and curves.improved_by_topk[-1] < 1e-12


@pytest.mark.parametrize("name", ["previous_token", "reverse"])  # causal, and not
def test_a_toy_model_with_a_cluster_per_query_is_the_trained_model(name):
    model, task = load_pretrained(name), TASKS[name]
    ids = torch.randint(3, 29, (4, 9), generator=torch.Generator().manual_seed(0))
    expected = model(ids)
    for method in ("clustered", "i-clustered"):
        clustered = with_clustered_head(model, 0, 1, method, 50, topk=2)  # C capped at L
        # float32 logits of size ~5 through two layers: equal to 1e-5, relatively.
        torch.testing.assert_close(clustered(ids), expected, atol=1e-5, rtol=1e-5)
    assert model.blocks[0].attn.__class__.__name__ == "MultiHeadAttention"  # left untouched
    assert toy_accuracy(model, task, 0, 1, 50, n_per_length=4) == evaluate(model, task,
                                                                           n_per_length=4)


def test_one_cluster_for_a_previous_token_head_breaks_the_task():
    model, task = load_pretrained("previous_token"), TASKS["previous_token"]
    full = evaluate(model, task, n_per_length=4)
    worst = min(toy_accuracy(model, task, 0, h, 1, n_per_length=4) for h in range(2))
    assert worst < full - 0.05  # one shared row cannot point one step back for every query
    assert math.isfinite(worst)
