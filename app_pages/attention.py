"""Attention lab: type token sequences, run multi-head attention, read every head.

Reads like the page: what should attend (a trained toy model, or one random attention layer
on your own text) and the text it reads, then the results; the model's settings (weights,
accuracy, retraining; or the random layer's shape) wait in the sidebar, so that the first
heatmaps are on the first screen. Widgets → engine (``engine.attention``: an
:class:`~engine.attention.AttentionRun`) → figures (``charts.attention``) → show. The picker
and the four result tabs are functions in ``app_pages/attention_views.py``; only the open
tab is computed. In presenter mode the heatmaps head the page.

Settings are the rows of one parameter table (``SETTINGS``), which draws their widgets with
their ranges and checks their values before they reach the engine. State that survives
reruns lives in ``st.session_state`` under ``attention_*`` keys.
"""

from __future__ import annotations

import hashlib

import streamlit as st
import torch

from admission import Job, Kind, Work
from app_pages import attention_views as views
from app_pages.components import heavy
from app_pages.components.params import Param, ParamTable
from app_pages.components.present import presenting
from app_pages.components.text import md_text
from engine.attention import (
    TASKS,
    AttentionRun,
    EmptyTextError,
    HeadWidthError,
    SequenceTooLongError,
    WeightsError,
    random_attention,
)
from engine.attention.model import ToyTransformer
from engine.attention.tasks import LettersError, ToyTask
from engine.attention.tokens import MAX_TOKENS, TOKENIZERS
from engine.attention.training import evaluate, train
from engine.attention.weights import (
    load_metadata,
    load_pretrained,
    model_from_tensors,
    read_safetensors,
)

TOY, FREE = "Trained toy model", "Random attention on your own text"
SHIPPED, UPLOADED, RETRAINED = "Shipped weights", "Upload .safetensors", "Retrained in this session"

SETTINGS = ParamTable("attention_", (
    Param("task", None, "Task", "previous_token", str, choices=tuple(TASKS),
          format_func=lambda name: TASKS[name].title),
    *(row for t in TASKS.values() for row in (
        Param(f"steps_{t.name}", None, "Training steps", min(t.steps, 600), int, low=50,
              high=t.steps, step=50),
        Param(f"train_seed_{t.name}", None, "Seed", 1, int, low=0, high=10_000),
    )),
    Param("tokenizer", None, "Tokens", "words", str, choices=tuple(TOKENIZERS),
          help="\n".join(f"- **{k}**: {v}" for k, v in TOKENIZERS.items())),
    Param("d_model", None, "d_model", 64, int, low=1, high=1024),
    Param("n_heads", None, "Heads", 4, int, low=1, high=16),
    Param("seed", None, "Seed", 0, int, low=0, high=10_000),
    Param("sharpness", None, "Sharpness", 2.0, float, choices=tuple(x / 2 for x in range(1, 9)),
          help="Scales W_Q and W_K. Random layers at PyTorch's initial scale attend almost "
          "uniformly; sharper scores make the pattern visible."),
    Param("positional", None, "Positional encoding", True, bool),
    Param("causal", None, "Causal mask", False, bool),
    Param("shared_qk", None, "Tie W_K = W_Q", False, bool,
          help="Then tokens attend to tokens like themselves: repeated words light up."),
))  # fmt: skip

ss = st.session_state
for _row in SETTINGS:
    ss.setdefault(SETTINGS.key(_row.name), _row.default)
ss.setdefault("attention_layer", TASKS[ss["attention_task"]].pattern_layer)


def open_pattern_layer() -> None:
    """A new task opens on the layer its "Look for" text is about."""
    ss["attention_layer"] = TASKS[ss["attention_task"]].pattern_layer


def setting(name: str):
    """A setting's value, checked against its row before it reaches the engine."""
    try:
        return SETTINGS[name].check(ss[SETTINGS.key(name)])
    except ValueError as exc:
        st.error(f"{md_text(exc)}. Set it again above.", icon=":material/tune:")
        st.stop()


# ----------------------------------------------------------------------------- cached work


@st.cache_resource(max_entries=8, show_spinner=False)
def shipped_model(name: str) -> ToyTransformer:
    return load_pretrained(name)


@st.cache_resource(max_entries=4, scope="session", show_spinner="Reading the weights…")
def uploaded_model(name: str, digest: str, _data: bytes) -> ToyTransformer:
    """Keyed on the SHA-256 of the file, never on a sample of it."""
    return model_from_tensors(read_safetensors(_data), TASKS[name].config)


@st.cache_data(max_entries=16, show_spinner="Checking the model on held-out strings…")
def held_out_accuracy(name: str, weights_key: str, _model: ToyTransformer) -> float:
    return evaluate(_model, TASKS[name], n_per_length=32)


# Runs are immutable (read-only arrays), so they are shared rather than copied on every
# rerun; weights_key names the exact weights (a file's or a state's digest).
@st.cache_resource(max_entries=16, ttl="1h", show_spinner=False)
def run_toy(name: str, weights_key: str, lines: tuple[str, ...], _model) -> AttentionRun:
    return AttentionRun.from_toy(_model, TASKS[name], lines)


@st.cache_resource(max_entries=8, show_spinner=False)
def free_layer(d_model: int, n_heads: int, seed: int, sharpness: float, shared_qk: bool):
    return random_attention(d_model, n_heads, seed, sharpness=sharpness, shared_qk=shared_qk)


@st.cache_resource(max_entries=16, ttl="1h", show_spinner="Running attention…")
def run_free(text: str, mode: str, truncate: bool, d_model: int, n_heads: int, seed: int,
             positional: bool, causal: bool, sharpness: float, shared_qk: bool) -> AttentionRun:
    layer = free_layer(d_model, n_heads, seed, sharpness, shared_qk)
    return AttentionRun.from_text(layer, text, mode=mode, truncate=truncate, seed=seed,
                                  positional=positional, causal=causal)  # fmt: skip


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a model's weights: the cache key of everything computed from them."""
    h = hashlib.sha256()
    for name, tensor in state.items():
        h.update(name.encode())
        h.update(tensor.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- toy models


def choose_weights(task: ToyTask, weights_source: str) -> tuple[ToyTransformer, str, float]:
    """The model to run, its cache key and its held-out accuracy; stops with a message."""
    if weights_source == SHIPPED:
        try:
            model = shipped_model(task.name)
        except FileNotFoundError as exc:
            st.error(f"The shipped weights are missing: {md_text(exc)}")
            st.stop()
        return model, f"shipped:{task.name}", load_metadata().get(task.name, {}).get("accuracy")
    if weights_source == RETRAINED:
        retrained = ss["attention_retrained"][task.name]
        model = model_from_tensors(retrained["state"], task.config)
        return model, f"retrained:{retrained['digest']}", retrained["accuracy"]
    upload = st.sidebar.file_uploader(
        f"Weights for the {task.title} architecture (.safetensors; pickles are refused)",
        type=["safetensors"], key=f"attention_upload_{task.name}",
    )  # fmt: skip
    if upload is None:
        st.info(
            "Upload a .safetensors file with the same tensor names and shapes as the "
            "shipped model (for example one written by scripts/train_toy_models.py)."
        )
        st.stop()
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        model = uploaded_model(task.name, digest, data)
    except WeightsError as exc:
        st.error(
            f"These weights cannot be used for the {task.title} model. "
            f"{md_text(str(exc).splitlines()[0])}",
            icon=":material/error:",
        )
        if exc.problems:
            st.code("\n".join(exc.problems), language=None)
        st.stop()
    key = f"upload:{digest}"
    return model, key, held_out_accuracy(task.name, key, model)


RETRAIN = Kind("attention.retrain", "Retraining a toy model", max_cached=32,
               seconds_per_unit=0.01)
"""Retraining runs in the server's queue: one step takes about 8 ms on one core."""


def retrain_work(task: ToyTask, steps: int, seed: int) -> Work:
    """The job: train (deterministic from task, steps and seed), then score on held-out
    strings. Its result is shared by everyone who asks with the same settings."""

    def work(report) -> dict:
        def on_step(step: int, total: int, loss: float) -> None:
            report(step / total, f"{task.title}: step {step}/{total} · loss {loss:.3f}")

        trained = train(task, steps=steps, seed=seed, callback=on_step)
        report(1.0, "Checking the accuracy on held-out strings…")
        state = {k: v.clone() for k, v in trained.state_dict().items()}
        return {"state": state, "accuracy": evaluate(trained, task, n_per_length=32),
                "digest": state_digest(state)}  # fmt: skip

    return work


def adopt_retrained(job: Job) -> None:
    """A finished retraining: keep it in the session, then switch to it."""
    name = job.key[0]
    ss.setdefault("attention_retrained", {})[name] = job.result
    if name == ss.get("attention_task"):  # the radio is drawn already: switch on a rerun
        ss["attention_pending_source"] = RETRAINED
        st.rerun()


def retrain_expander(task: ToyTask) -> None:
    """Retrain a fresh model in the server's queue; then switch to it."""
    with st.sidebar.expander("Retrain this model live", icon=":material/model_training:"):
        _retrain_panel(task.name)


@st.fragment
def _retrain_panel(task_name: str) -> None:
    """The Retrain controls and the waiting panel, as a fragment: a press (or a slider step)
    reruns this panel alone, not the whole page with its heatmaps. When a class presses at
    once, twenty whole-page runs had kept the server from a new visitor's page; the page
    runs again only when the retrained model is ready (the waiting panel asks for that)."""
    task = TASKS[task_name]
    st.caption(
        "Trains a fresh model from random weights in the server's queue; the same "
        "settings are trained once for everyone. Fewer steps train faster but learn less; "
        f"at most {task.steps}, as many as the shipped model used."
    )
    steps_row = SETTINGS[f"steps_{task.name}"]
    st.slider(steps_row.label, int(steps_row.low), int(steps_row.high),
              step=int(steps_row.step), key=SETTINGS.key(steps_row.name))  # fmt: skip
    c2, c3 = st.columns([1, 1], vertical_alignment="bottom")
    SETTINGS.widget(f"train_seed_{task.name}", c2)
    if c3.button("Retrain", icon=":material/play_arrow:",
                 key=f"attention_retrain_{task.name}"):  # fmt: skip
        steps, seed = setting(f"steps_{task.name}"), setting(f"train_seed_{task.name}")
        heavy.submit(RETRAIN, (task.name, steps, seed), retrain_work(task, steps, seed),
                     cost=steps)  # fmt: skip
    heavy.follow(RETRAIN, adopt_retrained, key="attention_retrain")


def toy_model_run() -> AttentionRun:
    """Controls of a trained toy model, then its run on the typed letters."""
    if "attention_pending_source" in ss:
        ss["attention_weights_source"] = ss.pop("attention_pending_source")
    left, middle, right = st.columns([2, 2, 3], gap="medium")
    SETTINGS.widget("task", left, on_change=open_pattern_layer)
    task = TASKS[setting("task")]
    text = middle.text_area(
        f"Letters a-z, one sequence per line ({task.min_letters}-{task.max_letters} letters)",
        value=task.example, key=f"attention_toy_text_{task.name}", height=68,
    )  # fmt: skip
    cfg = task.config
    left.caption(
        f"{cfg.n_layers} layer(s) × {cfg.n_heads} heads, d_model={cfg.d_model}, "
        f"{'causal (left-to-right)' if cfg.causal else 'bidirectional'} attention, "
        f"{'MLP ' + str(cfg.d_ff) if cfg.d_ff else 'attention only'}."
    )
    with right, st.container(border=True):
        st.markdown(f"**{task.title}.** {task.description}  \n"
                    f":material/visibility: **Look for:** {task.pattern}")  # fmt: skip

    with st.sidebar:
        st.header("Model")
        options = [SHIPPED, UPLOADED]
        if task.name in ss.get("attention_retrained", {}):
            options.append(RETRAINED)
        if ss.get("attention_weights_source") not in options:
            ss["attention_weights_source"] = SHIPPED
        weights_source = st.radio("Weights", options, key="attention_weights_source")
    model, weights_key, accuracy = choose_weights(task, weights_source)
    if accuracy is not None:
        st.sidebar.metric(
            "Held-out accuracy", f"{accuracy:.1%}",
            help="Share of predicted tokens the model gets right on strings it never saw in "
            "training.",
        )  # fmt: skip
    retrain_expander(task)

    try:
        lines = task.read_lines(text)
    except EmptyTextError:
        st.error(
            "There is nothing to attend over: type at least one line of letters "
            f"(for example `{task.example}`).",
            icon=":material/edit_note:",
        )
        st.stop()
    except LettersError as exc:
        st.error(
            "The model cannot read this input.  \n"
            + "  \n".join(md_text(p) for p in exc.problems)
            + "  \nUse lowercase letters a-z only (spaces are ignored), with a length the "
            "model was trained on.",
            icon=":material/translate:",
        )
        st.stop()
    if task.repeats_letters(lines):
        st.warning(
            f"The {task.title} model was trained on letters that are all different; "
            "with repeated letters it may go wrong - and that is worth seeing too."
        )
    return run_toy(task.name, weights_key, tuple(lines), model)


# ----------------------------------------------------------------------------- free text


def truncate_box() -> None:
    st.checkbox(f"Truncate every line to its first {MAX_TOKENS} tokens", key="attention_truncate")


def free_text_run() -> AttentionRun:
    """Controls of one random attention layer, then its run on the typed text."""
    c1, c2 = st.columns([3, 2], gap="large")
    text = c1.text_area(
        "Your text, one sequence per line (several lines form a padded batch)",
        value="the cat sat on the mat .\nthe dog sat .", key="attention_free_text",
        height=90,
    )  # fmt: skip
    row = SETTINGS["tokenizer"]  # a radio shows every tokenizer at once
    c2.radio(row.label, row.choices, key=SETTINGS.key("tokenizer"), horizontal=True,
             help=row.help)  # fmt: skip
    with st.sidebar:
        st.header("Attention layer")
        a, b = st.columns(2)
        for name, column in (("d_model", a), ("n_heads", b), ("seed", a), ("sharpness", b)):
            SETTINGS.widget(name, column)
        for name in ("positional", "causal", "shared_qk"):
            SETTINGS.widget(name)
    names = ("tokenizer", "d_model", "n_heads", "seed", "positional", "causal", "sharpness",
             "shared_qk")
    s = {name: setting(name) for name in names}
    try:
        run = run_free(text, s["tokenizer"], ss.get("attention_truncate", False), s["d_model"],
                       s["n_heads"], s["seed"], s["positional"], s["causal"], s["sharpness"],
                       s["shared_qk"])  # fmt: skip
    except HeadWidthError as exc:
        nearest = exc.n_heads * max(1, round(exc.d_model / exc.n_heads))
        st.error(
            f"d_model = {exc.d_model} cannot be split into {exc.n_heads} equal heads: d_model "
            f"must be divisible by the number of heads. With d_model = {exc.d_model} choose "
            f"heads from {exc.divisors}, or change d_model (e.g. to {nearest}).",
            icon=":material/calculate:",
        )
        st.stop()
    except SequenceTooLongError as exc:
        st.error(
            f"Too long: {md_text(exc)} Each sequence may have at most {MAX_TOKENS} tokens "
            f"(a {MAX_TOKENS} × {MAX_TOKENS} map per head). Shorten the text, split it over "
            "several lines, or truncate it.",
            icon=":material/straighten:",
        )
        truncate_box()
        st.stop()
    except EmptyTextError:
        st.error(
            "There is nothing to attend over: the text is empty. Type a sentence - one "
            "sequence per line.",
            icon=":material/edit_note:",
        )
        st.stop()
    if any(run.truncated):
        lost = [f"line {i + 1} lost {n}" for i, n in enumerate(run.truncated) if n]
        st.warning(f"Truncated to the first {MAX_TOKENS} tokens: " + ", ".join(lost) + ".")
        truncate_box()
    return run


# ----------------------------------------------------------------------------- page

head = st.container()  # presenter mode: the heatmaps, above everything else
st.title("Attention lab")
st.caption(
    "Type a sequence and watch multi-head attention, softmax(QKᵀ/√dₖ)·V, at work: every "
    "head's weights as a heatmap, each step of the formula, what the heads have in common."
)
ss.setdefault("attention_source", TOY)
source = st.segmented_control(
    "What should attend?", [TOY, FREE], key="attention_source",
    help="Trained toy models have heads with readable patterns; random weights show the "
    "mechanism on any text you type.",
)  # fmt: skip
if source is None:
    st.info("Pick a trained toy model or random attention on your own text.")
    st.stop()

run = toy_model_run() if source == TOY else free_text_run()
views.show(run, head if presenting() else None)
