"""The Attention lab's results: the sequence/layer picker and four tabs, one function each.

``show(run)`` draws what every view shares (which sequence and layer, padding, colour
scale; a toy model's answers), then the tabs. Tabs are lazy: a rerun computes, and sends
to the browser, only the open tab. Every number comes from the
:class:`~engine.attention.AttentionRun`; this module only lays it out.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from charts import attention as charts
from engine.attention import AttentionRun, analysis
from engine.data import to_csv_bytes

TABS = {
    "grid": ":material/grid_view: All heads",
    "focus": ":material/center_focus_strong: One head & aggregates",
    "steps": ":material/functions: Step by step",
    "stats": ":material/insights: Head statistics",
}
AGGREGATES = {"mean over heads": "mean", "max over heads": "max",
              "rollout through all layers": "rollout"}  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """What the views show: one sequence, one layer, with or without its padding."""

    seq: int
    layer: int
    padded: bool  # show the padding positions of a shorter sequence
    zmax: float | None  # top of the weight colour scale; None: the largest weight shown

    def mask_kwargs(self, run: AttentionRun) -> dict:
        padding = run.padding_of(self.seq, padded=self.padded)
        return dict(causal=run.causal, key_padding=padding, query_padding=padding)


def head_names(run: AttentionRun) -> list[str]:
    return [f"head {h + 1}" for h in range(run.n_heads)]


def pick(run: AttentionRun) -> Selection:
    """The row of pickers above the tabs."""
    st.divider()
    cols = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    seq = 0
    if run.n_sequences > 1:
        # The key follows the text: with a fixed key the box kept showing the old line's
        # label after the text changed (its options, 0..n-1, looked the same to Streamlit).
        text_digest = hashlib.blake2b(repr(run.tokens).encode(), digest_size=8).hexdigest()
        seq = cols[0].selectbox(
            "Sequence", range(run.n_sequences), key=f"attention_sequence_{text_digest}",
            format_func=lambda i: f"{i + 1}: {' '.join(run.tokens[i])[:60]}",
        )  # fmt: skip
    layer = 0
    if run.n_layers > 1:
        layer = cols[1].selectbox("Layer", range(run.n_layers), key="attention_layer",
                                  format_func=lambda i: f"layer {i + 1}")  # fmt: skip
    has_padding = run.has_padding(seq)
    show_padding = cols[2].toggle(
        "Show padding", False, key="attention_show_padding", disabled=not has_padding,
        help="This sequence is shorter than the longest one in the batch; padding keys are "
        "masked.",
    )  # fmt: skip
    stretch = cols[3].toggle(
        "Stretch colours", False, key="attention_stretch",
        help="Off: colours span 0-1 for every head. On: they span 0 to the largest weight shown.",
    )  # fmt: skip
    return Selection(seq, layer, show_padding and has_padding, None if stretch else 1.0)


def predictions(run: AttentionRun, seq: int) -> None:
    """A toy model's answer at every position of the sequence, against the task's target."""
    rows = [
        {"position": i, "input": tok, "expected": "" if e is None else e,
         "model says": "" if p is None else p, "": "" if e is None else ("✓" if e == p else "✗")}
        for i, (tok, e, p) in enumerate(
            zip(run.tokens[seq], run.expected[seq], run.predicted[seq], strict=True))
    ]  # fmt: skip
    left, right = st.columns([1, 3])
    left.metric("Correct on your input", f"{run.accuracy:.0%}")
    right.dataframe(pd.DataFrame(rows).set_index("position").T)


# ----------------------------------------------------------------------------- all heads


def grid_tab(run: AttentionRun, sel: Selection) -> None:
    padding_note = " and padding is masked." if sel.padded else ("." if run.causal else "")
    st.caption(
        "Each square is one head: row = the query token that is looking, column = the key "
        "token it looks at; every row sums to 1. "
        + ("Grey cells are masked: the causal mask hides future tokens" if run.causal else "")
        + padding_note
        + ' Hover a cell for "query → key: weight".'
    )
    labels = run.labels(sel.seq, padded=sel.padded)
    st.plotly_chart(
        charts.head_grid_figure(
            run.weights(sel.seq, sel.layer, padded=sel.padded), labels, labels,
            head_names=head_names(run), zmax=sel.zmax,
            title=f"Layer {sel.layer + 1} of {run.n_layers}" if run.n_layers > 1 else None,
            **sel.mask_kwargs(run),
        ),
        key="attention_grid_chart",
    )  # fmt: skip
    layer = sel.layer
    d1, d2, _ = st.columns([1, 1, 2])
    # Built only when clicked. Tokens are user text: to_csv_bytes defuses spreadsheet formulas.
    d1.download_button(
        "Weights as CSV", data=lambda: to_csv_bytes(run.weights_table(layer)),
        file_name=f"attention_layer{layer + 1}.csv", mime="text/csv",
        icon=":material/download:", key="attention_download_csv", on_click="ignore",
    )  # fmt: skip
    d2.download_button(
        "Weights as JSON",
        data=lambda: json.dumps(run.weights_json(layer), ensure_ascii=False).encode(),
        file_name=f"attention_layer{layer + 1}.json", mime="application/json",
        icon=":material/download:", key="attention_download_json", on_click="ignore",
    )  # fmt: skip
    st.caption("Figures: use the camera icon in a chart's toolbar to save it as PNG.")


# ----------------------------------------------------------------------------- one head


def focus_tab(run: AttentionRun, sel: Selection) -> None:
    names = head_names(run)
    views = names + [v for v in AGGREGATES if AGGREGATES[v] != "rollout" or run.n_layers > 1]
    f1, f2 = st.columns([1, 2], vertical_alignment="bottom")
    view = f1.selectbox("Show", views, key="attention_focus_view")
    how = names.index(view) if view in names else AGGREGATES[view]
    if how in ("mean", "max"):
        f2.caption(
            f"The {how} of the {run.n_heads} heads of this layer, cell by cell. "
            + ("Rows of a max no longer sum to 1." if how == "max" else "")
        )
    elif how == "rollout":
        f2.caption(
            "Attention rollout (Abnar & Zuidema, 2020): each layer's heads averaged, the "
            "residual connection counted as attending to oneself (½A + ½I), and the layers "
            "multiplied. It estimates how much each output position draws on each input token."
        )
    else:
        f2.caption("One head, large, with its weights printed when they fit.")
    labels = run.labels(sel.seq, padded=sel.padded)
    st.plotly_chart(
        charts.head_focus_figure(run.focus(sel.seq, sel.layer, how, padded=sel.padded), labels,
                                 labels, name=view, zmax=sel.zmax, **sel.mask_kwargs(run)),
        key="attention_focus_chart",
    )  # fmt: skip

    st.markdown("##### Where do chosen queries look?")
    own = run.tokens[sel.seq]
    n = len(own)
    chosen = st.multiselect(
        "Query tokens (their attention is summed)", range(n), default=[n - 1],
        format_func=lambda i: f"{i} · {own[i]}", key="attention_queries",
    )  # fmt: skip
    valid = [i for i in chosen if i < n]
    totals = analysis.query_attention(run.focus(sel.seq, sel.layer, how), valid)
    queries_word = "query" if len(valid) == 1 else "queries"
    st.plotly_chart(
        charts.key_attention_figure(
            totals, own, title=f"Attention paid by {len(valid)} chosen {queries_word} · {view}"
        ),
        key="attention_query_chart",
    )


# ----------------------------------------------------------------------------- step by step


def steps_tab(run: AttentionRun, sel: Selection) -> None:
    head = st.selectbox("Head to follow", range(run.n_heads), key="attention_step_head",
                        format_func=lambda h: f"head {h + 1}")  # fmt: skip
    s = run.steps(sel.seq, sel.layer, head)
    own, n, d_head, d_model = s.tokens, len(s.tokens), s.d_head, s.d_model
    pair = dict(column_axis="key", row_axis="query")

    st.markdown(
        f"Follow **head {head + 1}** of layer {sel.layer + 1} through "
        "$\\mathrm{head}_h = "
        "\\mathrm{softmax}\\!\\left(\\frac{Q_h K_h^\\top}{\\sqrt{d_k}} + M\\right) V_h$"
        f" with $d_k = d_{{head}} = {d_head}$ and {n} tokens."
    )
    st.markdown(
        "**1 · Project.** Every token vector is multiplied by this head's slice of $W_Q$, $W_K$, "
        f"$W_V$: a query (what am I looking for?), a key (what do I offer?) and a value (what "
        f"do I pass on?), each {d_head} numbers."
    )
    for col, (title, m) in zip(st.columns(3), [("Q (queries)", s.q), ("K (keys)", s.k),
                                               ("V (values)", s.v)], strict=True):  # fmt: skip
        col.plotly_chart(charts.matrix_figure(m, own, title=title),
                         key=f"attention_step_{title[0]}")  # fmt: skip
    st.markdown(
        "**2 · Compare.** $QK^\\top$ takes the dot product of every query with every key: "
        "large when they point the same way. Dividing by "
        f"$\\sqrt{{d_k}} = \\sqrt{{{d_head}}} = {math.sqrt(d_head):.2f}$ keeps the scores from "
        "growing with the width, so the softmax does not saturate."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.matrix_figure(s.qk, own, own, title="QKᵀ", **pair),
                    key="attention_step_qk")  # fmt: skip
    c2.plotly_chart(charts.matrix_figure(s.scores, own, own, title=f"QKᵀ / √{d_head}", **pair),
                    key="attention_step_scaled")  # fmt: skip
    if run.causal:
        masked_what = "(the causal mask hides every later token). "
    elif run.n_sequences > 1:
        masked_what = "(nothing is masked here: padding only affects shorter sequences of the " \
                      "batch). "
    else:
        masked_what = "(nothing is masked here). "
    st.markdown(
        "**3 · Mask.** Add $M$: 0 where a query may look, $-\\infty$ where it may not "
        + masked_what + "A $-\\infty$ score becomes exactly 0 after the softmax."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.matrix_figure(s.mask, own, own, title="mask M (grey = −∞)", **pair),
                    key="attention_step_mask")  # fmt: skip
    c2.plotly_chart(
        charts.matrix_figure(s.masked_scores, own, own, title=f"QKᵀ / √{d_head} + M", **pair),
        key="attention_step_masked",
    )
    row_sums = s.weights.sum(1)
    st.markdown(
        "**4 · Softmax.** Along each row: $e^{s_j} / \\sum_k e^{s_k}$. Every row is now a "
        f"probability distribution over the keys (row sums: min {row_sums.min():.3f}, "
        f"max {row_sums.max():.3f}). These are the weights of the heatmaps."
    )
    st.plotly_chart(
        charts.head_focus_figure(s.weights, own, own, causal=run.causal, name=f"head {head + 1}",
                                 title="softmax → attention weights"),
        key="attention_step_softmax",
    )  # fmt: skip
    st.markdown(
        "**5 · Weighted sum.** Each query's output is the weighted average of the value "
        f"vectors: $\\mathrm{{head}}_{head + 1} = \\mathrm{{weights}} \\cdot V$, {n} × {d_head}."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.matrix_figure(s.v, own, title="V"), key="attention_step_v2")
    c2.plotly_chart(
        charts.matrix_figure(s.head_output, own, title=f"head {head + 1} output = weights · V"),
        key="attention_step_headout",
    )
    st.markdown(
        f"**6 · Concatenate the heads** side by side: {run.n_heads} heads × {d_head} "
        f"columns = {d_model} columns (head {head + 1} fills columns "
        f"{head * d_head}-{(head + 1) * d_head - 1})."
    )
    st.plotly_chart(
        charts.matrix_figure(s.concat, own, title="concat(head 1, …, head H)",
                             column_axis="dimension (grouped by head)"),
        key="attention_step_concat",
    )  # fmt: skip
    st.markdown(
        "**7 · Output projection** $\\mathrm{output} = \\mathrm{concat} \\cdot W_O^\\top + b_O$. "
        "Until now each head only wrote its own columns and never saw the others. $W_O$ "
        f"({d_model} × {d_model}) mixes them: every output feature is a weighted "
        "sum over **all** heads' features, so heads can combine what they found (and a head "
        "whose result is not useful can be turned down). The result has the width of the input "
        "again, so it can be added back to the token vectors (the residual stream) and fed to "
        "the next layer. Many tutorials skip this step; without it the heads' results would "
        "just sit side by side."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        charts.matrix_figure(s.out_weight, None, title="W_O (rows: output feature)",
                             row_axis="output feature",
                             column_axis="concat feature (grouped by head)"),
        key="attention_step_wo",
    )  # fmt: skip
    c2.plotly_chart(charts.matrix_figure(s.output, own, title="output = concat · W_Oᵀ + b_O"),
                    key="attention_step_output")  # fmt: skip


# ----------------------------------------------------------------------------- head statistics


def stats_tab(run: AttentionRun, sel: Selection) -> None:
    names = [f"L{li + 1} H{h + 1}" if run.n_layers > 1 else f"head {h + 1}"
             for li in range(run.n_layers) for h in range(run.n_heads)]  # fmt: skip
    s1, s2 = st.columns([1, 2], vertical_alignment="bottom")
    threshold = s1.slider(
        "Group heads closer than", 0.05, 0.95, 0.4, 0.05, key="attention_group_threshold",
        help="Jensen-Shannon distance between two heads' weights, averaged over query rows: "
        "0 = identical patterns, 1 = they never look at the same keys.",
    )  # fmt: skip
    stats = run.head_stats(sel.seq)
    groups = stats.groups(threshold)
    s2.caption(
        f"{len(set(groups.tolist()))} group(s) of heads with similar patterns on this sequence; "
        "bars share a colour when their heads are in the same group."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        charts.head_metric_figure(stats.entropy, names, groups=groups,
                                  metric="Entropy (normalised)", value_range=(0, 1.1),
                                  description="0 = one key, 1 = spread evenly"),
        key="attention_entropy_chart",
    )  # fmt: skip
    c2.plotly_chart(
        charts.head_metric_figure(stats.sparsity, names, groups=groups, metric="Sparsity",
                                  value_range=(0, 1.1),
                                  description="share of keys outside the top-90% mass"),
        key="attention_sparsity_chart",
    )  # fmt: skip
    st.plotly_chart(charts.head_similarity_figure(stats.distances, names, groups),
                    key="attention_similarity_chart")  # fmt: skip
    st.caption(
        "Entropy −Σ w log w per query row, divided by log(number of keys the row may see), "
        "averaged over rows. Sparsity: 1 − (keys needed to hold 90% of the weight) / keys."
    )


# ----------------------------------------------------------------------------- the results


def show(run: AttentionRun) -> None:
    """The picker, a toy model's answers, then the open tab (only that one is computed)."""
    sel = pick(run)
    if run.expected is not None:
        predictions(run, sel.seq)
    tabs = dict(zip(TABS, st.tabs(list(TABS.values()), key="attention_tab", on_change="rerun"),
                    strict=True))  # fmt: skip
    for name, draw in (("grid", grid_tab), ("focus", focus_tab), ("steps", steps_tab),
                       ("stats", stats_tab)):  # fmt: skip
        if tabs[name].open:
            with tabs[name]:
                draw(run, sel)
