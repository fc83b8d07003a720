"""The Attention lab's results: the sequence/layer picker and four tabs, one function each.

``show(run)`` draws what every view shares (which sequence and layer; in the sidebar, the
padding and the colour scale), then the tabs. Tabs are lazy: a rerun computes, and sends
to the browser, only the open tab. In presenter mode the heads' grid heads the page and the
"All heads" tab steps aside. Every number comes from the
:class:`~engine.attention.AttentionRun`; this module only lays it out.

One file, over 450 lines, because it is one job: the lab's tabs, one short function each,
sharing the same selection and colour scale.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from app_pages.components.figures import show_figure
from app_pages.components.text import md_text
from charts import attention as charts
from engine.attention import AttentionRun, analysis
from engine.attention.run import HeadSteps
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
    """Which sequence and layer (above the tabs, when there is a choice); padding and
    the colour scale in the sidebar."""
    seq, layer = 0, 0
    if run.n_sequences > 1 or run.n_layers > 1:
        cols = st.columns([3, 1, 2], vertical_alignment="bottom")
        if run.n_sequences > 1:
            # The key follows the text: with a fixed key the box kept showing the old line's
            # label after the text changed (its options, 0..n-1, looked the same to Streamlit).
            text_digest = hashlib.blake2b(repr(run.tokens).encode(), digest_size=8).hexdigest()
            seq = cols[0].selectbox(
                "Sequence", range(run.n_sequences), key=f"attention_sequence_{text_digest}",
                format_func=lambda i: f"{i + 1}: {' '.join(run.tokens[i])[:60]}",
            )  # fmt: skip
        if run.n_layers > 1:
            ss = st.session_state
            if ss.get("attention_layer", 0) >= run.n_layers:
                ss["attention_layer"] = 0
            layer = cols[1].selectbox("Layer", range(run.n_layers), key="attention_layer",
                                      format_func=lambda i: f"layer {i + 1}")  # fmt: skip
    has_padding = run.has_padding(seq)
    with st.sidebar:
        st.header("View")
        show_padding = st.toggle(
            "Show padding", False, key="attention_show_padding", disabled=not has_padding,
            help="This sequence is shorter than the longest one in the batch; padding keys "
            "are masked.",
        )  # fmt: skip
        stretch = st.toggle(
            "Stretch colours", False, key="attention_stretch",
            help="Off: colours span 0-1 for every head. On: they span 0 to the largest weight "
            "shown.",
        )  # fmt: skip
    return Selection(seq, layer, show_padding and has_padding, None if stretch else 1.0)


def predictions(run: AttentionRun, seq: int) -> None:
    """A toy model's answer at every position of the sequence, against the task's target.

    A Markdown table, not st.dataframe: the grid's tab then loads no table widget (1.2 MB of
    script that would compete with Plotly's on a student's first visit).
    """
    tokens, expected, said = run.tokens[seq], run.expected[seq], run.predicted[seq]
    rows = {
        "input": tokens,
        "expected": ["" if e is None else e for e in expected],
        "model says": ["" if p is None else p for p in said],
        "": ["" if e is None else ("✓" if e == p else "✗") for e, p in zip(expected, said,
                                                                       strict=True)],
    }  # fmt: skip
    lines = ["| position | " + " | ".join(str(i) for i in range(len(tokens))) + " |",
             "| --- |" + " :-: |" * len(tokens)]  # fmt: skip
    lines += [f"| {name} | " + " | ".join(md_text(v) or " " for v in values) + " |"
              for name, values in rows.items()]  # fmt: skip
    left, right = st.columns([1, 3])
    left.metric("Correct on your input", f"{run.accuracy:.0%}")
    right.markdown("\n".join(lines))


# ----------------------------------------------------------------------------- all heads


def heads_grid(run: AttentionRun, sel: Selection, *, key: str) -> None:
    """Every head of the selected layer, one heatmap each: the lab's headline chart."""
    labels = run.labels(sel.seq, padded=sel.padded)
    show_figure(
        charts.head_grid_figure(
            run.weights(sel.seq, sel.layer, padded=sel.padded), labels, labels,
            head_names=head_names(run), zmax=sel.zmax,
            title=f"Layer {sel.layer + 1} of {run.n_layers}" if run.n_layers > 1 else None,
            **sel.mask_kwargs(run),
        ),
        key=key,
    )  # fmt: skip


def grid_tab(run: AttentionRun, sel: Selection) -> None:
    heads_grid(run, sel, key="attention_grid_chart")
    padding_note = " and padding is masked." if sel.padded else ("." if run.causal else "")
    st.caption(
        "Each square is one head: row = the query token that is looking, column = the key "
        "token it looks at; every row sums to 1. "
        + ("Grey cells are masked: the causal mask hides future tokens" if run.causal else "")
        + padding_note
        + ' Hover a cell for "query → key: weight".'
    )
    if run.expected is not None:
        predictions(run, sel.seq)
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


def chosen_queries(n: int, tokens: list[str]) -> tuple[list[int], str]:
    """The chosen query positions that exist in a text of ``n`` tokens, and a note.

    A choice made on a longer text (or no choice at all) falls back to the last token,
    and the note says so: a chart of zero queries would be blank.
    """
    ss = st.session_state
    held = [i for i in ss.get("attention_queries", [n - 1]) if isinstance(i, int)]
    kept = [i for i in held if 0 <= i < n]
    gone = [i for i in held if not 0 <= i < n]
    note = ""
    if not kept:
        kept = [n - 1]
        note = (f"Query position {', '.join(map(str, gone))} is past the end of this "
                f"{n}-token text: showing the last token, {n - 1} · {tokens[-1]}, instead."
                if gone else f"No query chosen: showing the last token, {n - 1} · {tokens[-1]}.")
    elif gone:
        note = (f"Position {', '.join(map(str, gone))} is past the end of this {n}-token "
                "text and was dropped.")
    ss["attention_queries"] = kept  # before the widget is drawn: it shows what is used
    return kept, note


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
    show_figure(
        charts.head_focus_figure(run.focus(sel.seq, sel.layer, how, padded=sel.padded), labels,
                                 labels, name=view, zmax=sel.zmax, **sel.mask_kwargs(run)),
        key="attention_focus_chart",
    )  # fmt: skip

    st.markdown("##### Where do chosen queries look?")
    own = list(run.tokens[sel.seq])
    n = len(own)
    chosen, note = chosen_queries(n, own)
    st.multiselect(
        "Query tokens (their attention is summed)", range(n), key="attention_queries",
        format_func=lambda i: f"{i} · {own[i]}",
    )  # fmt: skip
    totals = analysis.query_attention(run.focus(sel.seq, sel.layer, how), chosen)
    queries_word = "query" if len(chosen) == 1 else "queries"
    show_figure(
        charts.key_attention_figure(
            totals, own, note=note,
            title=f"Attention paid by {len(chosen)} chosen {queries_word} · {view}",
        ),
        key="attention_query_chart",
    )


# ----------------------------------------------------------------------------- step by step

STEPS = ("Project", "Compare", "Mask", "Softmax", "Weighted sum", "Concatenate",
         "Output projection")  # fmt: skip
"""The seven steps of multi-head attention, as the stepper names them."""

_ON = r"\textcolor{#dc2626}{\boldsymbol{%s}}"


def formula(step: int) -> str:
    """The whole formula in LaTeX, the term that step ``step`` (0-based) computes in red."""

    def term(latex: str, *steps: int) -> str:
        return _ON % latex if step in steps else latex

    q, k, v = term("Q_h", 0, 1), term("K_h", 0, 1), term("V_h", 0, 4)
    softmax, plus_mask = term(r"\mathrm{softmax}", 3), term("+ M", 2)
    concat, projection = term(r"\mathrm{concat}_h", 5), term(r"\, W_O^\top + b_O", 6)
    scores = term(r"\frac{" + q + " " + k + r"^\top}{\sqrt{d_k}}", 1)
    inner = softmax + r"\!\left(" + scores + " " + plus_mask + r"\right) " + v
    return r"\mathrm{output} = " + concat + r"\left(" + inner + r"\right)" + projection


def steps_tab(run: AttentionRun, sel: Selection) -> None:
    """One step of the formula at a time: a stepper, the formula with that term in red, and
    only that step's matrices (every step at once is optional)."""
    ss = st.session_state
    h1, h2, h3 = st.columns([1, 3, 1], vertical_alignment="bottom")
    head = h1.selectbox("Head to follow", range(run.n_heads), key="attention_step_head",
                        format_func=lambda h: f"head {h + 1}")  # fmt: skip
    every = h3.toggle("Every step", key="attention_all_steps",
                      help="Show all seven steps one below the other.")  # fmt: skip
    s = run.steps(sel.seq, sel.layer, head)
    h2.markdown(
        f"Follow **head {head + 1}** of layer {sel.layer + 1} through the formula, with "
        f"$d_k = d_{{head}} = {s.d_head}$ and {len(s.tokens)} tokens."
    )
    if every:
        st.latex(formula(-1))
        for i, draw in enumerate(STEP_VIEWS):
            draw(run, s, head, f"**{i + 1} · {STEPS[i]}.** ")
        return
    ss.setdefault("attention_step", 0)
    ss["attention_step"] = min(max(int(ss["attention_step"]), 0), len(STEPS) - 1)
    back, pills, forward = st.columns([1, 14, 1], vertical_alignment="center")
    back.button("", icon=":material/chevron_left:", key="attention_step_back_button",
                help="Previous step", disabled=ss["attention_step"] == 0,
                on_click=lambda: ss.update(attention_step=ss["attention_step"] - 1))
    pills.segmented_control(
        "Step", range(len(STEPS)), key="attention_step", label_visibility="collapsed",
        format_func=lambda i: f"{i + 1} · {STEPS[i]}", required=True,
    )  # fmt: skip
    forward.button("", icon=":material/chevron_right:", key="attention_step_next_button",
                   help="Next step", disabled=ss["attention_step"] == len(STEPS) - 1,
                   on_click=lambda: ss.update(attention_step=ss["attention_step"] + 1))
    step = ss["attention_step"]
    st.latex(formula(step))
    STEP_VIEWS[step](run, s, head, f"**{step + 1} · {STEPS[step]}.** ")


def _project(run: AttentionRun, s: HeadSteps, head: int, lead: str) -> None:
    st.markdown(
        lead + "Every token vector is multiplied by this head's slice of $W_Q$, $W_K$, $W_V$: "
        "a query (what am I looking for?), a key (what do I offer?) and a value (what do I "
        f"pass on?), each {s.d_head} numbers."
    )
    for col, (title, m) in zip(st.columns(3), [("Q (queries)", s.q), ("K (keys)", s.k),
                                               ("V (values)", s.v)], strict=True):  # fmt: skip
        show_figure(charts.matrix_figure(m, s.tokens, title=title),
                    key=f"attention_step_{title[0]}", container=col)  # fmt: skip


def _compare(run: AttentionRun, s: HeadSteps, head: int, lead: str) -> None:
    st.markdown(
        lead + "$QK^\\top$ takes the dot product of every query with every key: large when "
        "they point the same way. Dividing by "
        f"$\\sqrt{{d_k}} = \\sqrt{{{s.d_head}}} = {math.sqrt(s.d_head):.2f}$ keeps the scores "
        "from growing with the width, so the softmax does not saturate."
    )
    pair = dict(column_axis="key", row_axis="query")
    c1, c2 = st.columns(2)
    show_figure(charts.matrix_figure(s.qk, s.tokens, s.tokens, title="QKᵀ", **pair),
                key="attention_step_qk", container=c1)  # fmt: skip
    show_figure(charts.matrix_figure(s.scores, s.tokens, s.tokens,
                                     title=f"QKᵀ / √{s.d_head}", **pair),
                key="attention_step_scaled", container=c2)  # fmt: skip


def _mask(run: AttentionRun, s: HeadSteps, head: int, lead: str) -> None:
    if run.causal:
        masked_what = "(the causal mask hides every later token). "
    elif run.n_sequences > 1:
        masked_what = ("(nothing is masked here: padding only affects shorter sequences of "
                       "the batch). ")  # fmt: skip
    else:
        masked_what = "(nothing is masked here). "
    st.markdown(
        lead + "Add $M$: 0 where a query may look, $-\\infty$ where it may not "
        + masked_what + "A $-\\infty$ score becomes exactly 0 after the softmax."
    )
    pair = dict(column_axis="key", row_axis="query")
    c1, c2 = st.columns(2)
    show_figure(charts.matrix_figure(s.mask, s.tokens, s.tokens, title="mask M (grey = −∞)",
                                     **pair), key="attention_step_mask", container=c1)
    show_figure(charts.matrix_figure(s.masked_scores, s.tokens, s.tokens,
                                     title=f"QKᵀ / √{s.d_head} + M", **pair),
                key="attention_step_masked", container=c2)  # fmt: skip


def _softmax(run: AttentionRun, s: HeadSteps, head: int, lead: str) -> None:
    row_sums = s.weights.sum(1)
    st.markdown(
        lead + "Along each row: $e^{s_j} / \\sum_k e^{s_k}$. Every row is now a probability "
        f"distribution over the keys (row sums: min {row_sums.min():.3f}, max "
        f"{row_sums.max():.3f}). These are the weights of the heatmaps."
    )
    show_figure(charts.head_focus_figure(s.weights, s.tokens, s.tokens, causal=run.causal,
                                         name=f"head {head + 1}",
                                         title="softmax → attention weights"),
                key="attention_step_softmax")  # fmt: skip


def _weighted_sum(run: AttentionRun, s: HeadSteps, head: int, lead: str) -> None:
    st.markdown(
        lead + "Each query's output is the weighted average of the value vectors: "
        f"$\\mathrm{{head}}_{head + 1} = \\mathrm{{weights}} \\cdot V$, "
        f"{len(s.tokens)} × {s.d_head}."
    )
    c1, c2 = st.columns(2)
    show_figure(charts.matrix_figure(s.v, s.tokens, title="V"), key="attention_step_v2",
                container=c1)  # fmt: skip
    show_figure(charts.matrix_figure(s.head_output, s.tokens,
                                     title=f"head {head + 1} output = weights · V"),
                key="attention_step_headout", container=c2)  # fmt: skip


def _concatenate(run: AttentionRun, s: HeadSteps, head: int, lead: str) -> None:
    d_head = s.d_head
    st.markdown(
        lead + f"The heads side by side: {run.n_heads} heads × {d_head} columns = "
        f"{s.d_model} columns (head {head + 1} fills columns {head * d_head}-"
        f"{(head + 1) * d_head - 1})."
    )
    show_figure(charts.matrix_figure(s.concat, s.tokens, title="concat(head 1, …, head H)",
                                     column_axis="dimension (grouped by head)"),
                key="attention_step_concat")  # fmt: skip


def _output(run: AttentionRun, s: HeadSteps, head: int, lead: str) -> None:
    st.markdown(
        lead + "$\\mathrm{output} = \\mathrm{concat} \\cdot W_O^\\top + b_O$. Until now each "
        f"head only wrote its own columns and never saw the others. $W_O$ ({s.d_model} × "
        f"{s.d_model}) mixes them: every output feature is a weighted sum over **all** heads' "
        "features, so heads can combine what they found (and a head whose result is not "
        "useful can be turned down). The result has the width of the input again, so it can "
        "be added back to the token vectors (the residual stream) and fed to the next layer. "
        "Many tutorials skip this step; without it the heads' results would just sit side "
        "by side."
    )
    c1, c2 = st.columns(2)
    show_figure(charts.matrix_figure(s.out_weight, None, title="W_O (rows: output feature)",
                                     row_axis="output feature",
                                     column_axis="concat feature (grouped by head)"),
                key="attention_step_wo", container=c1)  # fmt: skip
    show_figure(charts.matrix_figure(s.output, s.tokens, title="output = concat · W_Oᵀ + b_O"),
                key="attention_step_output", container=c2)  # fmt: skip


STEP_VIEWS: tuple[Callable[[AttentionRun, HeadSteps, int, str], None], ...] = (
    _project, _compare, _mask, _softmax, _weighted_sum, _concatenate, _output,
)  # fmt: skip
"""What each step shows, in the order of :data:`STEPS`."""


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
    show_figure(
        charts.head_metric_figure(stats.entropy, names, groups=groups,
                                  metric="Entropy (normalised)", value_range=(0, 1.1),
                                  description="0 = one key, 1 = spread evenly"),
        key="attention_entropy_chart", container=c1,
    )  # fmt: skip
    show_figure(
        charts.head_metric_figure(stats.sparsity, names, groups=groups, metric="Sparsity",
                                  value_range=(0, 1.1),
                                  description="share of keys outside the top-90% mass"),
        key="attention_sparsity_chart", container=c2,
    )  # fmt: skip
    show_figure(charts.head_similarity_figure(stats.distances, names, groups),
                key="attention_similarity_chart")  # fmt: skip
    st.caption(
        "Entropy −Σ w log w per query row, divided by log(number of keys the row may see), "
        "averaged over rows. Sparsity: 1 − (keys needed to hold 90% of the weight) / keys."
    )


# ----------------------------------------------------------------------------- the results


def show(run: AttentionRun, head=None) -> None:
    """The picker, then the open tab (only that one is computed).

    ``head``: a container above the page (presenter mode) that gets the heads' grid; the
    "All heads" tab then steps aside.
    """
    sel = pick(run)
    draws = {"grid": grid_tab, "focus": focus_tab, "steps": steps_tab, "stats": stats_tab}
    if head is not None:
        with head:
            heads_grid(run, sel, key="attention_head_chart")
        del draws["grid"]
    tabs = st.tabs([TABS[name] for name in draws], key="attention_tab", on_change="rerun")
    for draw, tab in zip(draws.values(), tabs, strict=True):
        if tab.open:
            with tab:
                draw(run, sel)
