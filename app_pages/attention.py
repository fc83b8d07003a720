"""Attention lab: type token sequences, run multi-head attention, read every head.

Widgets → engine (``engine.attention``, ``engine.tokens``, ``engine.toy_models``,
``engine.attention_analysis``) → figures (``charts.attention``) → ``st.plotly_chart``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch

from charts import attention as charts
from engine import attention_analysis as analysis
from engine.attention import random_attention
from engine.tokens import (
    MAX_TOKENS,
    TOKENIZERS,
    SequenceTooLongError,
    embed,
    tokenize_lines,
)
from engine.toy_models import (
    TASKS,
    WeightsError,
    evaluate,
    load_metadata,
    load_pretrained,
    model_from_tensors,
    read_safetensors,
    run_task,
    train,
)

TOY, FREE = "Trained toy model", "Random attention on your own text"
SHIPPED, UPLOADED, RETRAINED = "Shipped weights", "Upload .safetensors", "Retrained in this session"
# Characters that Markdown, Streamlit's emoji (:smile:) or LaTeX ($x$) would interpret.
_MD_SPECIAL = set("\\`*_{}[]<>()#+!|~$:&")


def literal(text: str) -> str:
    """Escape Markdown's special characters, so user text inside st.error stays text."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text)


@dataclass(frozen=True)
class Shown:
    """What the views below draw, for every sequence of the batch (NumPy, padded)."""

    tokens: list[list[str]]  # unpadded tokens per sequence
    padding: np.ndarray  # (B, L) bool, True at padding
    layers: list[dict[str, np.ndarray]]  # per layer: q, k, v, scores, mask, weights, ...
    causal: bool
    out_proj: list[tuple[np.ndarray, np.ndarray | None]]  # per layer: W_O, b_O


def _to_numpy(traces, padding, tokens, causal, out_proj) -> dict:
    """Arrays for the cache: st.cache_data pickles results, and a class defined in a page
    script cannot be unpickled, so :class:`Shown` is built after the cache."""
    layers = []
    for t in traces:
        layers.append(
            {
                "q": t.q.numpy(),
                "k": t.k.numpy(),
                "v": t.v.numpy(),
                "scores": t.scores.numpy(),
                "mask": None if t.mask is None else t.mask.numpy(),
                "masked_scores": t.masked_scores.numpy(),
                "weights": t.weights.numpy(),
                "head_outputs": t.head_outputs.numpy(),
                "concat": t.concat.numpy(),
                "output": t.output.numpy(),
            }
        )
    return dict(
        tokens=tokens, padding=padding.numpy(), layers=layers, causal=causal, out_proj=out_proj
    )


def _out_proj(mha) -> tuple[np.ndarray, np.ndarray | None]:
    bias = mha.out_proj.bias
    return mha.out_proj.weight.detach().numpy(), None if bias is None else bias.detach().numpy()


# ----------------------------------------------------------------------------- cached work


@st.cache_resource(max_entries=8, show_spinner=False)
def shipped_model(name: str):
    return load_pretrained(name)


@st.cache_resource(max_entries=4, scope="session", show_spinner="Reading the weights…")
def uploaded_model(name: str, digest: str, _data: bytes):
    """Keyed on the SHA-256 of the file, never on a sample of it."""
    return model_from_tensors(read_safetensors(_data), TASKS[name].config)


@st.cache_data(max_entries=16, show_spinner="Checking the model on held-out strings…")
def held_out_accuracy(name: str, weights_key: str, _model) -> float:
    return evaluate(_model, TASKS[name], n_per_length=32)


@st.cache_data(max_entries=32, show_spinner=False)
def run_toy(name: str, weights_key: str, lines: tuple[str, ...], _model) -> tuple:
    result = run_task(_model, TASKS[name], [list(line) for line in lines])
    shown = _to_numpy(
        result.traces,
        result.key_padding_mask,
        result.tokens,
        TASKS[name].config.causal,
        [_out_proj(block.attn) for block in _model.blocks],
    )
    return shown, result.expected, result.predicted, result.accuracy


@st.cache_resource(max_entries=8, show_spinner=False)
def free_layer(d_model: int, n_heads: int, seed: int, sharpness: float, shared_qk: bool):
    return random_attention(d_model, n_heads, seed, sharpness=sharpness, shared_qk=shared_qk)


@st.cache_data(max_entries=32, show_spinner="Running attention…")
def run_free(
    text: str,
    mode: str,
    truncate: bool,
    d_model: int,
    n_heads: int,
    seed: int,
    positional: bool,
    causal: bool,
    sharpness: float,
    shared_qk: bool,
) -> tuple[dict, list[int]]:
    batch = tokenize_lines(text, mode, truncate=truncate)
    mha = free_layer(d_model, n_heads, seed, sharpness, shared_qk)
    x = embed(batch, d_model, seed, positional=positional)  # (B, L, d_model)
    with torch.inference_mode():
        trace = mha(
            x,
            x,
            x,
            key_padding_mask=batch.key_padding_mask,
            is_causal=causal,
            return_intermediates=True,
        )
    shown = _to_numpy([trace], batch.key_padding_mask, batch.tokens, causal, [_out_proj(mha)])
    return shown, batch.truncated


# ----------------------------------------------------------------------------- page: controls

st.title("Attention lab")
st.markdown(
    "Type token sequences and watch multi-head attention "
    "$\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})\\,V$ work: every head's weights as a heatmap, "
    "each step of the formula, and what the heads have in common."
)

source = st.segmented_control(
    "What should attend?",
    [TOY, FREE],
    default=TOY,
    key="attention_source",
    help="Trained toy models have heads with readable patterns; random weights show the "
    "mechanism on any text you type.",
)
if source is None:
    st.info("Pick a trained toy model or random attention on your own text.")
    st.stop()

shown: Shown | None = None
toy_outputs = None

if source == TOY:
    metadata = load_metadata()
    if "attention_pending_source" in st.session_state:
        st.session_state["attention_weights_source"] = st.session_state.pop(
            "attention_pending_source"
        )
    left, right = st.columns([2, 3], gap="large")
    with left:
        name = st.selectbox(
            "Task", list(TASKS), format_func=lambda n: TASKS[n].title, key="attention_task"
        )
        task = TASKS[name]
        cfg = task.config
        text = st.text_area(
            f"Letters a-z, one sequence per line ({task.min_letters}-{task.max_letters} letters)",
            value=task.example,
            key=f"attention_toy_text_{name}",
            height=100,
        )
        retrained = st.session_state.get("attention_retrained", {}).get(name)
        options = [SHIPPED, UPLOADED] + ([RETRAINED] if retrained else [])
        if st.session_state.get("attention_weights_source") not in options:
            st.session_state["attention_weights_source"] = SHIPPED
        weights_source = st.radio(
            "Weights", options, key="attention_weights_source", horizontal=True
        )
    with right, st.container(border=True):
        st.markdown(f"**{task.title}.** {task.description}")
        st.markdown(f":material/visibility: **Look for:** {task.pattern}")
        st.caption(
            f"{cfg.n_layers} layer(s) × {cfg.n_heads} heads, d_model={cfg.d_model}, "
            f"{'causal (left-to-right)' if cfg.causal else 'bidirectional'} attention, "
            f"{'MLP ' + str(cfg.d_ff) if cfg.d_ff else 'attention only'}."
        )

    model, weights_key = None, None
    if weights_source == SHIPPED:
        try:
            model, weights_key = shipped_model(name), f"shipped:{name}"
        except FileNotFoundError as exc:
            st.error(f"The shipped weights are missing: {exc}")
            st.stop()
        accuracy = metadata.get(name, {}).get("accuracy")
    elif weights_source == UPLOADED:
        upload = st.file_uploader(
            f"Weights for the {task.title} architecture (.safetensors; pickles are refused)",
            type=["safetensors"],
            key=f"attention_upload_{name}",
        )
        if upload is None:
            st.info(
                "Upload a .safetensors file with the same tensor names and shapes as the "
                "shipped model (for example one written by scripts/train_toy_models.py)."
            )
            st.stop()
        data = upload.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        try:
            model = uploaded_model(name, digest, data)
        except WeightsError as exc:
            st.error(
                f"These weights cannot be used for the {task.title} model. "
                f"{literal(str(exc).splitlines()[0])}",
                icon=":material/error:",
            )
            if exc.problems:
                st.code("\n".join(exc.problems), language=None)
            st.stop()
        weights_key = f"upload:{digest}"
        accuracy = held_out_accuracy(name, weights_key, model)
    else:
        model = model_from_tensors(retrained["state"], cfg)
        weights_key = f"retrained:{name}:{retrained['id']}"
        accuracy = retrained["accuracy"]

    with left:
        if accuracy is not None:
            st.metric(
                "Held-out accuracy",
                f"{accuracy:.1%}",
                help="Share of predicted tokens the model gets right on strings it never "
                "saw in training.",
            )
    with st.expander("Retrain this model live", icon=":material/model_training:"):
        st.caption(
            "Trains a fresh model from random weights on this CPU. Fewer steps train faster "
            f"but learn less; the shipped model used {task.steps} steps."
        )
        c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        steps = c1.slider(
            "Training steps",
            50,
            task.steps,
            min(task.steps, 600),
            step=50,
            key=f"attention_steps_{name}",
        )
        seed = c2.number_input("Seed", 0, 10_000, 1, key=f"attention_train_seed_{name}")
        if c3.button("Retrain", icon=":material/play_arrow:", key=f"attention_retrain_{name}"):
            bar = st.progress(0.0, text="Starting…")

            def report(step: int, total: int, loss: float) -> None:
                if step % 10 == 0 or step == total:
                    bar.progress(step / total, text=f"step {step}/{total} · loss {loss:.3f}")

            trained = train(task, steps=int(steps), seed=int(seed), callback=report)
            bar.progress(1.0, text="Checking the accuracy on held-out strings…")
            counter = st.session_state.get("attention_retrain_counter", 0) + 1
            st.session_state["attention_retrain_counter"] = counter
            st.session_state.setdefault("attention_retrained", {})[name] = {
                "state": {k: v.clone() for k, v in trained.state_dict().items()},
                "accuracy": evaluate(trained, task, n_per_length=32),
                "id": f"{counter}:{steps}:{seed}",
            }
            st.session_state["attention_pending_source"] = RETRAINED
            st.rerun()

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        st.error(
            "There is nothing to attend over: type at least one line of letters "
            f"(for example `{task.example}`).",
            icon=":material/edit_note:",
        )
        st.stop()
    problems = []
    for i, line in enumerate(lines, start=1):
        letters = list(line.replace(" ", ""))
        try:
            task.check_letters(letters)
        except ValueError as exc:
            problems.append(f"Line {i}: {exc}")
        lines[i - 1] = "".join(letters)
    if problems:
        st.error(
            "The model cannot read this input.  \n"
            + "  \n".join(literal(p) for p in problems)
            + "  \nUse lowercase letters a-z only (spaces are ignored), with a length the "
            "model was trained on.",
            icon=":material/translate:",
        )
        st.stop()
    if task.distinct and any(len(set(line)) < len(line) for line in lines):
        st.warning(
            f"The {task.title} model was trained on letters that are all different; "
            "with repeated letters it may go wrong - and that is worth seeing too."
        )
    arrays, expected, predicted, run_accuracy = run_toy(name, weights_key, tuple(lines), model)
    shown = Shown(**arrays)
    toy_outputs = (expected, predicted, run_accuracy)

else:
    c1, c2 = st.columns([3, 2], gap="large")
    with c1:
        text = st.text_area(
            "Your text, one sequence per line (several lines form a padded batch)",
            value="the cat sat on the mat .\nthe dog sat .",
            key="attention_free_text",
            height=110,
        )
        mode = st.radio(
            "Tokens",
            list(TOKENIZERS),
            key="attention_tokenizer",
            horizontal=True,
            captions=None,
            help="\n".join(f"- **{k}**: {v}" for k, v in TOKENIZERS.items()),
        )
    with c2:
        a, b = st.columns(2)
        d_model = a.number_input("d_model", 1, 1024, 64, key="attention_d_model")
        n_heads = b.number_input("Heads", 1, 16, 4, key="attention_n_heads")
        seed = a.number_input("Seed", 0, 10_000, 0, key="attention_seed")
        sharpness = b.slider(
            "Sharpness",
            0.5,
            4.0,
            2.0,
            0.5,
            key="attention_sharpness",
            help="Scales W_Q and W_K. Random layers at PyTorch's initial scale attend almost "
            "uniformly; sharper scores make the pattern visible.",
        )
        positional = a.toggle("Positional encoding", True, key="attention_positional")
        causal = b.toggle("Causal mask", False, key="attention_causal")
        shared_qk = a.toggle(
            "Tie W_K = W_Q",
            False,
            key="attention_shared_qk",
            help="Then tokens attend to tokens like themselves: repeated words light up.",
        )
    if int(d_model) % int(n_heads) != 0:
        divisors = [h for h in range(1, 17) if int(d_model) % h == 0]
        nearest = int(n_heads) * max(1, round(int(d_model) / int(n_heads)))
        st.error(
            f"d_model = {d_model} cannot be split into {n_heads} equal heads: d_model must be "
            f"divisible by the number of heads. With d_model = {d_model} choose heads from "
            f"{divisors}, or change d_model (e.g. to {nearest}).",
            icon=":material/calculate:",
        )
        st.stop()
    truncate = st.session_state.get("attention_truncate", False)
    try:
        arrays, truncated = run_free(
            text,
            mode,
            truncate,
            int(d_model),
            int(n_heads),
            int(seed),
            positional,
            causal,
            float(sharpness),
            shared_qk,
        )
    except SequenceTooLongError as exc:
        st.error(
            f"Too long: {literal(str(exc))} Each sequence may have at most {MAX_TOKENS} tokens "
            f"(a {MAX_TOKENS} × {MAX_TOKENS} map per head). Shorten the text, split it over "
            "several lines, or truncate it.",
            icon=":material/straighten:",
        )
        st.checkbox(
            f"Truncate every line to its first {MAX_TOKENS} tokens", key="attention_truncate"
        )
        st.stop()
    except ValueError as exc:
        st.error(
            "There is nothing to attend over: the text is empty. Type a sentence - one "
            "sequence per line.",
            icon=":material/edit_note:",
        )
        st.caption(literal(str(exc)))
        st.stop()
    shown = Shown(**arrays)
    if any(truncated):
        st.warning(
            "Truncated to the first "
            f"{MAX_TOKENS} tokens: "
            + ", ".join(f"line {i + 1} lost {n}" for i, n in enumerate(truncated) if n)
            + "."
        )
        st.checkbox(
            f"Truncate every line to its first {MAX_TOKENS} tokens", key="attention_truncate"
        )

# ----------------------------------------------------------------------------- page: what to show

assert shown is not None
n_layers = len(shown.layers)
n_seqs = len(shown.tokens)
n_heads_shown = shown.layers[0]["weights"].shape[1]
L_pad = shown.padding.shape[1]

st.divider()
pick = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
seq = 0
if n_seqs > 1:
    # The key follows the text: with a fixed key the box kept showing the old line's
    # label after the text changed (its options, 0..n-1, looked the same to Streamlit).
    text_digest = hashlib.blake2b(repr(shown.tokens).encode(), digest_size=8).hexdigest()
    seq = pick[0].selectbox(
        "Sequence",
        range(n_seqs),
        key=f"attention_sequence_{text_digest}",
        format_func=lambda i: f"{i + 1}: {' '.join(shown.tokens[i])[:60]}",
    )
layer = 0
if n_layers > 1:
    layer = pick[1].selectbox(
        "Layer", range(n_layers), format_func=lambda i: f"layer {i + 1}", key="attention_layer"
    )
has_padding = bool(shown.padding[seq].any())
show_padding = pick[2].toggle(
    "Show padding",
    False,
    key="attention_show_padding",
    disabled=not has_padding,
    help="This sequence is shorter than the longest one in the batch; padding keys are masked.",
)
stretch = pick[3].toggle(
    "Stretch colours",
    False,
    key="attention_stretch",
    help="Off: colours span 0-1 for every head. On: they span 0 to the largest weight shown.",
)
zmax = None if stretch else 1.0

n = len(shown.tokens[seq])
L = L_pad if (show_padding and has_padding) else n
tokens = shown.tokens[seq] + ["<pad>"] * (L - n)
padding = shown.padding[seq, :L]
data = shown.layers[layer]
weights = data["weights"][seq, :, :L, :L]  # (H, L, L)
head_names = [f"head {h + 1}" for h in range(n_heads_shown)]
mask_kwargs = dict(causal=shown.causal, key_padding=padding, query_padding=padding)

if toy_outputs is not None:
    expected, predicted, run_accuracy = toy_outputs
    rows = [
        {
            "position": i,
            "input": tok,
            "expected": "" if e is None else e,
            "model says": "" if p is None else p,
            "": "" if e is None else ("✓" if e == p else "✗"),
        }
        for i, (tok, e, p) in enumerate(
            zip(shown.tokens[seq], expected[seq], predicted[seq], strict=True)
        )
    ]
    out_left, out_right = st.columns([1, 3])
    out_left.metric("Correct on your input", f"{run_accuracy:.0%}")
    out_right.dataframe(pd.DataFrame(rows).set_index("position").T)

tab_grid, tab_focus, tab_steps, tab_stats = st.tabs(
    [
        ":material/grid_view: All heads",
        ":material/center_focus_strong: One head & aggregates",
        ":material/functions: Step by step",
        ":material/insights: Head statistics",
    ]
)

# ----------------------------------------------------------------------------- all heads

with tab_grid:
    st.caption(
        "Each square is one head: row = the query token that is looking, column = the key "
        "token it looks at; every row sums to 1. "
        + ("Grey cells are masked: the causal mask hides future tokens" if shown.causal else "")
        + (
            " and padding is masked."
            if show_padding and has_padding
            else ("." if shown.causal else "")
        )
        + ' Hover a cell for "query → key: weight".'
    )
    st.plotly_chart(
        charts.head_grid_figure(
            weights,
            tokens,
            tokens,
            head_names=head_names,
            zmax=zmax,
            title=f"Layer {layer + 1} of {n_layers}" if n_layers > 1 else None,
            **mask_kwargs,
        ),
        key="attention_grid_chart",
    )
    all_weights = data["weights"]  # (B, H, L_pad, L_pad)
    records = [
        {
            "sequence": b + 1,
            "layer": layer + 1,
            "head": h + 1,
            "query_pos": i,
            "query_token": shown.tokens[b][i],
            "key_pos": j,
            "key_token": shown.tokens[b][j],
            "weight": float(all_weights[b, h, i, j]),
        }
        for b in range(n_seqs)
        for h in range(n_heads_shown)
        for i in range(len(shown.tokens[b]))
        for j in range(len(shown.tokens[b]))
    ]
    export = {
        "layer": layer + 1,
        "causal": shown.causal,
        "sequences": [
            {
                "tokens": toks,
                "weights": all_weights[b, :, : len(toks), : len(toks)].round(6).tolist(),
            }
            for b, toks in enumerate(shown.tokens)
        ],
    }
    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button(
        "Weights as CSV",
        pd.DataFrame(records).to_csv(index=False).encode(),
        file_name=f"attention_layer{layer + 1}.csv",
        mime="text/csv",
        icon=":material/download:",
        key="attention_download_csv",
    )
    d2.download_button(
        "Weights as JSON",
        json.dumps(export, ensure_ascii=False).encode(),
        file_name=f"attention_layer{layer + 1}.json",
        mime="application/json",
        icon=":material/download:",
        key="attention_download_json",
    )
    st.caption("Figures: use the camera icon in a chart's toolbar to save it as PNG.")

# ----------------------------------------------------------------------------- one head

with tab_focus:
    views = head_names + ["mean over heads", "max over heads"]
    if n_layers > 1:
        views.append("rollout through all layers")
    f1, f2 = st.columns([1, 2], vertical_alignment="bottom")
    view = f1.selectbox("Show", views, key="attention_focus_view")
    if view.startswith("head"):
        focus = weights[views.index(view)]
        explain = "One head, large, with its weights printed when they fit."
    elif view.startswith("mean") or view.startswith("max"):
        focus = analysis.aggregate_heads(weights, view.split()[0])
        explain = (
            f"The {view.split()[0]} of the {n_heads_shown} heads of this layer, cell by cell. "
            + ("Rows of a max no longer sum to 1." if view.startswith("max") else "")
        )
    else:
        focus = np.zeros((L, L))
        focus[:n, :n] = analysis.rollout(
            [layer_["weights"][seq, :, :n, :n] for layer_ in shown.layers]
        )
        explain = (
            "Attention rollout (Abnar & Zuidema, 2020): each layer's heads averaged, the "
            "residual connection counted as attending to oneself (½A + ½I), and the layers "
            "multiplied. It estimates how much each output position draws on each input token."
        )
    f2.caption(explain)
    st.plotly_chart(
        charts.head_focus_figure(focus, tokens, tokens, name=view, zmax=zmax, **mask_kwargs),
        key="attention_focus_chart",
    )

    st.markdown("##### Where do chosen queries look?")
    chosen = st.multiselect(
        "Query tokens (their attention is summed)",
        range(n),
        default=[n - 1],
        format_func=lambda i: f"{i} · {shown.tokens[seq][i]}",
        key="attention_queries",
    )
    valid_chosen = [i for i in chosen if i < n]
    queries_word = "query" if len(valid_chosen) == 1 else "queries"
    totals = analysis.query_attention(focus[:n, :n], valid_chosen)
    st.plotly_chart(
        charts.key_attention_figure(
            totals,
            shown.tokens[seq],
            title=f"Attention paid by {len(valid_chosen)} chosen {queries_word} · {view}",
        ),
        key="attention_query_chart",
    )

# ----------------------------------------------------------------------------- step by step

with tab_steps:
    head = st.selectbox(
        "Head to follow",
        range(n_heads_shown),
        format_func=lambda h: f"head {h + 1}",
        key="attention_step_head",
    )
    d_head = data["q"].shape[-1]
    d_model_shown = data["concat"].shape[-1]
    q, k, v = (data[m][seq, head, :n] for m in ("q", "k", "v"))  # (n, d_head)
    scores = data["scores"][seq, head, :n, :n]
    masked = data["masked_scores"][seq, head, :n, :n]
    w = data["weights"][seq, head, :n, :n]
    own = shown.tokens[seq]

    st.markdown(
        f"Follow **head {head + 1}** of layer {layer + 1} through "
        "$\\mathrm{head}_h = "
        "\\mathrm{softmax}\\!\\left(\\frac{Q_h K_h^\\top}{\\sqrt{d_k}} + M\\right) V_h$"
        f" with $d_k = d_{{head}} = {d_head}$ and {n} tokens."
    )
    st.markdown(
        "**1 · Project.** Every token vector is multiplied by this head's slice of $W_Q$, $W_K$, "
        f"$W_V$: a query (what am I looking for?), a key (what do I offer?) and a value (what "
        f"do I pass on?), each {d_head} numbers."
    )
    cols = st.columns(3)
    for col, (name_, m) in zip(
        cols, [("Q (queries)", q), ("K (keys)", k), ("V (values)", v)], strict=True
    ):
        col.plotly_chart(
            charts.matrix_figure(m, own, title=name_), key=f"attention_step_{name_[0]}"
        )
    st.markdown(
        "**2 · Compare.** $QK^\\top$ takes the dot product of every query with every key: "
        "large when they point the same way. Dividing by "
        f"$\\sqrt{{d_k}} = \\sqrt{{{d_head}}} = {math.sqrt(d_head):.2f}$ keeps the scores from "
        "growing with the width, so the softmax does not saturate."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        charts.matrix_figure(
            scores * math.sqrt(d_head), own, own, title="QKᵀ", column_axis="key", row_axis="query"
        ),
        key="attention_step_qk",
    )
    c2.plotly_chart(
        charts.matrix_figure(
            scores, own, own, title=f"QKᵀ / √{d_head}", column_axis="key", row_axis="query"
        ),
        key="attention_step_scaled",
    )
    mask_matrix = np.zeros((n, n)) if data["mask"] is None else data["mask"][seq, head, :n, :n]
    st.markdown(
        "**3 · Mask.** Add $M$: 0 where a query may look, $-\\infty$ where it may not "
        + (
            "(the causal mask hides every later token). "
            if shown.causal
            else "(nothing is masked here"
            + (": padding only affects shorter sequences of the batch). " if n_seqs > 1 else "). ")
        )
        + "A $-\\infty$ score becomes exactly 0 after the softmax."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        charts.matrix_figure(
            mask_matrix, own, own, title="mask M (grey = −∞)", column_axis="key", row_axis="query"
        ),
        key="attention_step_mask",
    )
    c2.plotly_chart(
        charts.matrix_figure(
            masked, own, own, title=f"QKᵀ / √{d_head} + M", column_axis="key", row_axis="query"
        ),
        key="attention_step_masked",
    )
    st.markdown(
        "**4 · Softmax.** Along each row: $e^{s_j} / \\sum_k e^{s_k}$. Every row is now a "
        f"probability distribution over the keys (row sums: min {w.sum(1).min():.3f}, "
        f"max {w.sum(1).max():.3f}). These are the weights of the heatmaps."
    )
    st.plotly_chart(
        charts.head_focus_figure(
            w,
            own,
            own,
            causal=shown.causal,
            name=f"head {head + 1}",
            title="softmax → attention weights",
        ),
        key="attention_step_softmax",
    )
    st.markdown(
        "**5 · Weighted sum.** Each query's output is the weighted average of the value "
        f"vectors: $\\mathrm{{head}}_{head + 1} = \\mathrm{{weights}} \\cdot V$, {n} × {d_head}."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.matrix_figure(v, own, title="V"), key="attention_step_v2")
    c2.plotly_chart(
        charts.matrix_figure(
            data["head_outputs"][seq, head, :n], own, title=f"head {head + 1} output = weights · V"
        ),
        key="attention_step_headout",
    )
    st.markdown(
        f"**6 · Concatenate the heads** side by side: {n_heads_shown} heads × {d_head} "
        f"columns = {d_model_shown} columns (head {head + 1} fills columns "
        f"{head * d_head}-{(head + 1) * d_head - 1})."
    )
    st.plotly_chart(
        charts.matrix_figure(
            data["concat"][seq, :n],
            own,
            title="concat(head 1, …, head H)",
            column_axis="dimension (grouped by head)",
        ),
        key="attention_step_concat",
    )
    W_O, b_O = shown.out_proj[layer]
    st.markdown(
        "**7 · Output projection** $\\mathrm{output} = \\mathrm{concat} \\cdot W_O^\\top + b_O$. "
        "Until now each head only wrote its own columns and never saw the others. $W_O$ "
        f"({d_model_shown} × {d_model_shown}) mixes them: every output feature is a weighted "
        "sum over **all** heads' features, so heads can combine what they found (and a head "
        "whose result is not useful can be turned down). The result has the width of the input "
        "again, so it can be added back to the token vectors (the residual stream) and fed to "
        "the next layer. Many tutorials skip this step; without it the heads' results would "
        "just sit side by side."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        charts.matrix_figure(
            W_O,
            None,
            title="W_O (rows: output feature)",
            row_axis="output feature",
            column_axis="concat feature (grouped by head)",
        ),
        key="attention_step_wo",
    )
    c2.plotly_chart(
        charts.matrix_figure(data["output"][seq, :n], own, title="output = concat · W_Oᵀ + b_O"),
        key="attention_step_output",
    )

# ----------------------------------------------------------------------------- head statistics

with tab_stats:
    all_heads = np.concatenate([layer_["weights"][seq, :, :n, :n] for layer_ in shown.layers])
    allowed = np.concatenate(
        [
            np.ones_like(layer_["weights"][seq, :, :n, :n], dtype=bool)
            if layer_["mask"] is None
            else ~np.isneginf(layer_["mask"][seq, :, :n, :n])
            for layer_ in shown.layers
        ]
    )
    names_all = [
        f"L{li + 1} H{h + 1}" if n_layers > 1 else f"head {h + 1}"
        for li in range(n_layers)
        for h in range(n_heads_shown)
    ]
    s1, s2 = st.columns([1, 2], vertical_alignment="bottom")
    threshold = s1.slider(
        "Group heads closer than",
        0.05,
        0.95,
        0.4,
        0.05,
        key="attention_group_threshold",
        help="Jensen-Shannon distance between two heads' weights, averaged over query rows: "
        "0 = identical patterns, 1 = they never look at the same keys.",
    )
    distances = analysis.head_distances(all_heads)
    groups = analysis.group_heads(distances, threshold)
    s2.caption(
        f"{len(set(groups.tolist()))} group(s) of heads with similar patterns on this sequence; "
        "bars share a colour when their heads are in the same group."
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        charts.head_metric_figure(
            analysis.normalized_entropy(all_heads, allowed),
            names_all,
            groups=groups,
            metric="Entropy (normalised)",
            value_range=(0, 1.1),
            description="0 = one key, 1 = spread evenly",
        ),
        key="attention_entropy_chart",
    )
    c2.plotly_chart(
        charts.head_metric_figure(
            analysis.sparsity(all_heads, 0.9, allowed),
            names_all,
            groups=groups,
            metric="Sparsity",
            value_range=(0, 1.1),
            description="share of keys outside the top-90% mass",
        ),
        key="attention_sparsity_chart",
    )
    st.plotly_chart(
        charts.head_similarity_figure(distances, names_all, groups),
        key="attention_similarity_chart",
    )
    st.caption(
        "Entropy −Σ w log w per query row, divided by log(number of keys the row may see), "
        "averaged over rows. Sparsity: 1 − (keys needed to hold 90% of the weight) / keys."
    )
