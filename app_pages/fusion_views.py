"""The Fusion lab's two tabs, one function each: clustered attention, and deep clustering.

Each reads like its part of the page: the controls, then what the engine computed, drawn
by :mod:`charts.fusion`. Every number comes from the engine's result objects
(:class:`~engine.clustered_attention.run.ClusteredRun`,
:class:`~engine.deep_clustering.DeepClusteringResult`); this module lays them out and turns
the engine's typed errors into sentences a student can act on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import streamlit as st

from admission import Job, Kind
from app_pages.components import heavy
from app_pages.components.params import ParamTable
from app_pages.components.text import md_text
from charts import fusion as charts
from engine.attention import TASKS, EmptyTextError, SequenceTooLongError
from engine.attention.model import ToyTransformer
from engine.attention.tasks import LettersError
from engine.attention.tokens import MAX_TOKENS
from engine.attention.weights import load_pretrained
from engine.clustered_attention import ClusterCountError, TopKError
from engine.clustered_attention.run import ClusteredRun, ErrorCurves, HeadInputs, error_curves
from engine.clustered_attention.toy import accuracy_curve
from engine.deep_clustering import (
    MAX_DEC_EPOCHS,
    MAX_PRETRAIN_EPOCHS,
    SPACES,
    DeepClusteringConfig,
    DeepClusteringResult,
    Digits,
    TrainedModels,
    evaluate,
    load_digits,
    load_shipped,
    train,
)

ss = st.session_state
Setting = Callable[[str], object]
ACCURACY = Kind("fusion.accuracy", "Measuring the accuracy against C", max_cached=8,
                seconds_per_unit=0.3)
DEC_TRAINING = Kind("fusion.dec", "Retraining DEC", max_cached=4, seconds_per_unit=0.1)
"""Both run in the server's queue; units: one model evaluated, one epoch trained."""
DEFAULT_TEXT = (
    "the cat sat on the mat and the dog sat on the log while the cat watched the dog"
)
TEXT_D_MODEL = 64


# ----------------------------------------------------------------------------- cached work


@st.cache_resource(max_entries=8, show_spinner=False)
def toy_model(name: str) -> ToyTransformer:
    return load_pretrained(name)


@st.cache_resource(max_entries=32, ttl="1h", show_spinner=False)
def toy_head(name: str, line: str, layer: int, head: int) -> HeadInputs:
    return HeadInputs.from_toy(toy_model(name), TASKS[name], line, layer, head)


@st.cache_resource(max_entries=32, ttl="1h", show_spinner="Running the random layer…")
def text_head(text: str, n_heads: int, head: int, seed: int) -> HeadInputs:
    return HeadInputs.from_text(text, d_model=TEXT_D_MODEL, n_heads=n_heads, head=head, seed=seed)


# Runs hold read-only arrays and are shared; head_key names the head's inputs exactly.
@st.cache_resource(max_entries=64, ttl="1h", show_spinner=False)
def clustered_run(head_key: tuple, C: int, k: int, bits: int | None, seed: int,
                  _head: HeadInputs) -> ClusteredRun:  # fmt: skip
    return ClusteredRun.compute(_head, C, k, hash_bits=bits, seed=seed)


@st.cache_resource(max_entries=32, ttl="1h", show_spinner="Sweeping C and k…")
def curves(head_key: tuple, C: int, k: int, bits: int | None, seed: int,
           _head: HeadInputs) -> ErrorCurves:  # fmt: skip
    return error_curves(_head, C, k, hash_bits=bits, seed=seed)


@st.cache_resource(max_entries=1, show_spinner=False)
def digits() -> Digits:
    return load_digits()


@st.cache_resource(max_entries=1, show_spinner="Loading the shipped DEC…")
def shipped() -> tuple[TrainedModels, dict]:
    return load_shipped()


@st.cache_resource(max_entries=8, ttl="1h", show_spinner="Clustering the digits three ways…")
def study(key: str, _models: TrainedModels) -> DeepClusteringResult:
    return evaluate(_models, digits())


# ----------------------------------------------------------------------------- clustered attention


def _stop(message: str, icon: str = ":material/error:") -> None:
    st.error(message, icon=icon)
    st.stop()


def input_widgets(settings: ParamTable, setting: Setting) -> tuple:
    """The popover of inputs (source, model or text, layer, head): what the user asked for."""
    with st.popover("Queries from…", icon=":material/input:", width="stretch"):
        row = settings["source"]
        st.radio(row.label, row.choices, key=settings.key("source"), horizontal=True,
                 format_func=row.format_func)  # fmt: skip
        if setting("source") == "toy":
            settings.widget("task")
            task = TASKS[setting("task")]
            text = st.text_input(
                f"Letters a-z ({task.min_letters}-{task.max_letters})", value=task.example,
                key=f"fusion_letters_{task.name}",
            )  # fmt: skip
            a, b = st.columns(2)
            layer = a.selectbox("Layer", range(task.config.n_layers),
                                index=task.config.n_layers - 1, key=f"fusion_layer_{task.name}",
                                format_func=lambda i: f"{i + 1}")  # fmt: skip
            head = b.selectbox("Head", range(task.config.n_heads), key=f"fusion_head_{task.name}",
                               format_func=lambda i: f"{i + 1}")  # fmt: skip
            return "toy", task, text, layer, head
        text = st.text_area("Your text (one sequence; line breaks are spaces)",
                            value=DEFAULT_TEXT, key="fusion_text", height=110)  # fmt: skip
        a, b, c = st.columns(3)
        settings.widget("text_heads", a)
        n_heads = setting("text_heads")
        head = b.selectbox("Head", range(n_heads), key=f"fusion_text_head_{n_heads}",
                           format_func=lambda i: f"{i + 1}")  # fmt: skip
        settings.widget("text_seed", c)
        return "text", text, n_heads, head, setting("text_seed")


def load_head(request: tuple) -> tuple[HeadInputs, tuple]:
    """The head the user asked for, and its cache key; stops with a message on bad input."""
    if request[0] == "toy":
        _, task, text, layer, head = request
        try:
            line = task.read_lines(text)[0]
        except EmptyTextError:
            _stop(f"There is nothing to attend over: type some letters, for example "
                  f"`{task.example}` (under **Queries from…**).", ":material/edit_note:")
        except LettersError as exc:
            _stop("The model cannot read this input.  \n" + "  \n".join(
                md_text(p) for p in exc.problems), ":material/translate:")  # fmt: skip
        return toy_head(task.name, line, layer, head), ("toy", task.name, line, layer, head)
    _, text, n_heads, head, seed = request
    try:
        return text_head(text, n_heads, head, seed), ("text", text, n_heads, head, seed)
    except EmptyTextError:
        _stop("There is nothing to attend over: the text is empty. Type a sentence under "
              "**Queries from…**.", ":material/edit_note:")  # fmt: skip
    except SequenceTooLongError as exc:
        _stop(f"Too long: {md_text(exc)} The lab draws a {MAX_TOKENS} × {MAX_TOKENS} map at "
              "most; shorten the text.", ":material/straighten:")  # fmt: skip


def attention_view(settings: ParamTable, setting: Setting) -> None:
    """Controls, the three heatmaps, then clusters, error, the ε bound, costs and accuracy."""
    cols = st.columns([1.6, 1, 1, 1.8, 1, 1], vertical_alignment="bottom")
    with cols[0]:
        request = input_widgets(settings, setting)
    for name, column in zip(("clusters", "topk", "clustering"), cols[1:4], strict=True):
        settings.widget(name, column)
    lsh = setting("clustering") == "lsh"
    settings.widget("hash_bits", cols[4], disabled=not lsh)
    settings.widget("seed", cols[5])
    C, k, seed = setting("clusters"), setting("topk"), setting("seed")
    bits = setting("hash_bits") if lsh else None
    head, head_key = load_head(request)  # every control is drawn: an error loses none
    L = head.length
    st.caption(f"**{md_text(head.name)}** on “{md_text(' '.join(head.tokens))}”: L = S = {L} "
               f"{'causal ' if head.causal else ''}queries and keys, d = {head.q.shape[1]}.")
    try:
        run = clustered_run(head_key, C, k, bits, seed, head)
    except ClusterCountError as exc:
        _stop(f"C = {exc.n_clusters} clusters, but this sequence has only L = {exc.n_queries} "
              f"queries to group. Choose C between 1 and {exc.n_queries}.", ":material/hub:")
    except TopKError as exc:
        _stop(f"k = {exc.topk} top keys, but there are only S = {exc.n_keys} keys. Choose k "
              f"between 1 and {exc.n_keys}.", ":material/key:")  # fmt: skip
    ops = run.operations()
    st.plotly_chart(charts.attention_triptych_figure(run), key="fusion_triptych", theme=None)
    m = st.columns(4)
    m[0].metric("Attention rows computed", f"{run.n_clusters} of {L}",
                help="One softmax row per centroid instead of one per query.")
    m[1].metric("Clustered: multiply-adds", f"{ops.clustered_total / ops.full:.2f} × full",
                help="Clustering plus C·S·(d + d_v), against L·S·(d + d_v).")
    m[2].metric("i-clustered: multiply-adds", f"{ops.improved_total / ops.full:.2f} × full",
                help="Adds L·k·(d + d_v) for each query's exact top-k keys.")
    m[3].metric("Error: clustered → i-clustered",
                f"{run.error_clustered:.1%} → {run.error_improved:.1%}",
                help="‖Ô − O‖ / ‖O‖ of the head's output.")  # fmt: skip

    left, right = st.columns(2)
    left.plotly_chart(charts.query_clusters_figure(run.projection(), run.labels, head.tokens),
                      key="fusion_queries", theme=None)  # fmt: skip
    right.plotly_chart(charts.error_curves_figure(curves(head_key, C, k, bits, seed, head)),
                       key="fusion_curves", theme=None)  # fmt: skip

    left, right = st.columns([3, 2])
    with left:
        epsilon_section(run, head_key)
    with right:
        st.subheader("Operation counter")
        st.plotly_chart(charts.operations_figure(ops), key="fusion_operations", theme=None)
        st.caption(f"Full attention: L·S = {L * L:,} scores. Clustered: C·S = {C * L:,} scores "
                   f"plus the clustering ({'hashing and ' if lsh else ''}10 Lloyd iterations). "
                   "At this toy size clustering costs more than it saves; at L = 8,192 it "
                   "does not (see the README's benchmark).")  # fmt: skip
    if head_key[0] == "toy":
        accuracy_section(head_key, k, bits, seed)


def epsilon_section(run: ClusteredRun, head_key: tuple) -> None:
    """Pick two queries; draw their rows and the bound ε‖K‖₂/√d on their difference."""
    st.subheader("The ε bound")
    tokens = run.head.tokens
    digest = hashlib.blake2b(repr(head_key).encode(), digest_size=8).hexdigest()
    i0, j0 = run.default_pair()
    a, b = st.columns(2)
    label = lambda p: f"{p}: {tokens[p]}"  # noqa: E731 - a selectbox label, shown as text
    i = a.selectbox("Query i", range(len(tokens)), index=i0, format_func=label,
                    key=f"fusion_pair_i_{digest}")  # fmt: skip
    j = b.selectbox("Query j", range(len(tokens)), index=j0, format_func=label,
                    key=f"fusion_pair_j_{digest}")  # fmt: skip
    bound = run.epsilon(i, j)
    st.plotly_chart(charts.epsilon_figure(bound, tokens), key="fusion_epsilon", theme=None)
    same = run.labels[i] == run.labels[j]
    st.caption(
        f"Queries {i} and {j} are {'in the same cluster' if same else 'in different clusters'}. "
        "Softmax is 1-Lipschitz, so queries within ε of each other get rows within ε‖K‖₂/√d: "
        "queries near their centroid lose little by sharing its row."
    )


def accuracy_section(head_key: tuple, k: int, bits: int | None, seed: int) -> None:
    """Task accuracy against C with this head clustered: measured on demand, then kept."""
    _, name, _, layer, head = head_key
    task = TASKS[name]
    st.subheader("How many clusters does this head need?")
    longest = len(task.build(["a"] * task.max_letters)[0])
    cs = tuple(c for c in (1, 2, 3, 4, 6, 8, 12, 16, 24) if c <= longest)
    key = (name, layer, head, k, bits, seed, cs)

    def work(report):
        def progress(done, total):
            report(done / total, f"model {done}/{total} evaluated on held-out strings")

        return accuracy_curve(toy_model(name), task, layer, head, cs, topk=k, hash_bits=bits,
                              seed=seed, n_per_length=8, callback=progress)  # fmt: skip

    if not st.toggle(f"Measure the {task.title} model's accuracy for C in {list(cs)}",
                     key="fusion_accuracy"):  # fmt: skip
        st.caption("Runs the model on held-out strings with this head clustered, "
                   f"{2 * len(cs)} times (a few seconds); the result is kept.")
        heavy.drop(ACCURACY)  # no longer asked for: stopped unless shared
        return
    curve = heavy.result(ACCURACY, key, work, cost=2 * len(cs), prefix="fusion_accuracy")
    if curve is None:  # waiting in the server's queue: the panel above says where
        return
    st.plotly_chart(charts.accuracy_curve_figure(curve, task.title), key="fusion_accuracy_chart",
                    theme=None)


# ----------------------------------------------------------------------------- deep clustering

SHIPPED, RETRAINED = "Shipped weights", "Retrained in this session"


def dec_models() -> tuple[TrainedModels, str]:
    """The DEC to show - shipped, or retrained in this session - and its cache key."""
    if "fusion_dec_pending" in ss:
        ss["fusion_dec_source"] = ss.pop("fusion_dec_pending")
    retrained = ss.get("fusion_dec_trained")  # (config, models)
    source = SHIPPED
    if retrained is not None:
        if ss.get("fusion_dec_source") not in (SHIPPED, RETRAINED):
            ss["fusion_dec_source"] = SHIPPED
        source = st.radio("Weights", [SHIPPED, RETRAINED], key="fusion_dec_source",
                          horizontal=True)  # fmt: skip
    if source == RETRAINED:
        return retrained[1], f"retrained:{retrained[0]}"
    try:
        models, _ = shipped()
    except FileNotFoundError as exc:
        _stop(f"The shipped DEC weights are missing: {md_text(exc)}")
    return models, "shipped"


def adopt_dec(job: Job) -> None:
    """A finished retraining: kept in the session, then shown."""
    ss["fusion_dec_trained"], ss["fusion_dec_pending"] = (job.key, job.result), RETRAINED
    st.rerun()


def retrain_panel(settings: ParamTable, setting: Setting) -> None:
    """Train a DEC with other settings in the server's queue; then show it."""
    with st.expander("Retrain live", icon=":material/model_training:"):
        st.caption("Pretrains a fresh autoencoder, starts DEC from K-means in its embedding and "
                   "refines it, on this server's CPU, in its queue (about a minute at the "
                   "defaults, which are what ships; at most "
                   f"{MAX_PRETRAIN_EPOCHS:,} + {MAX_DEC_EPOCHS:,} epochs). Same settings, same "
                   "result: trained once for everyone who asks.")
        cols = st.columns(5, vertical_alignment="bottom")
        for name, column in zip(("n_embedding", "pretrain_epochs", "dec_epochs", "noise",
                                 "dec_seed"), cols, strict=True):  # fmt: skip
            settings.widget(name, column)
        if st.button("Retrain", icon=":material/play_arrow:", key="fusion_dec_retrain"):
            config = DeepClusteringConfig(
                n_embedding=setting("n_embedding"), pretrain_epochs=setting("pretrain_epochs"),
                dec_epochs=setting("dec_epochs"), noise=setting("noise"), seed=setting("dec_seed"),
            )  # fmt: skip
            heavy.submit(DEC_TRAINING, config, lambda report: _train(config, report),
                         cost=config.pretrain_epochs + config.dec_epochs)  # fmt: skip
        heavy.follow(DEC_TRAINING, adopt_dec, key="fusion_dec")


def _train(config: DeepClusteringConfig, report) -> TrainedModels:
    pre, dec = config.pretrain_epochs, config.dec_epochs

    def on_pretrain(epoch, epochs, loss):
        report(0.7 * epoch / epochs, f"pretraining: epoch {epoch}/{pre} · loss {loss:.4f}")

    def on_refine(record, epochs):
        report(0.7 + 0.3 * record.epoch / epochs,
               f"DEC: epoch {record.epoch}/{dec} · KL {record.loss:.4f} · ARI {record.ari:.3f}")

    return train(config, digits(), on_pretrain=on_pretrain, on_refine=on_refine)


def dec_view(settings: ParamTable, setting: Setting) -> None:
    """ARI of the three clusterings, the digits in each space, DEC's training, and a look in."""
    models, key = dec_models()
    result = study(key, models)
    target = digits().target
    ari = result.ari
    cols = st.columns(3)
    for column, name in zip(cols, SPACES, strict=True):
        delta = None if name == "raw" else f"{ari[name] - ari['raw']:+.3f} vs raw pixels"
        column.metric(f"ARI · {SPACES[name]}", f"{ari[name]:.3f}", delta=delta,
                      help="Adjusted Rand index against the true digits: 1 = the digits "
                      "exactly, 0 = no better than chance.")  # fmt: skip
    st.plotly_chart(charts.embeddings_figure(result, target), key="fusion_embeddings", theme=None)
    st.caption("Each picture is the plane of the two principal components of its space: the "
               "64 raw pixels, the autoencoder's embedding, DEC's refined embedding. A point's "
               "colour is its cluster's, named by the digit the cluster matches best.")

    history = result.history
    left, right = st.columns(2)
    with left:
        st.subheader("DEC, epoch by epoch")
        st.plotly_chart(charts.dec_history_figure(history, ari["raw"], ari["autoencoder"]),
                        key="fusion_history", theme=None)  # fmt: skip
        st.caption(f"{len(history.epochs)} epochs; stopped: {history.stop_reason}. The loss "
                   f"jumps each time the targets P are sharpened (every "
                   f"{result.config.update_every} epochs), then falls as Q follows them.")
    with right:
        which = st.segmented_control("Clustering", list(SPACES), default="dec",
                                     format_func=SPACES.__getitem__, key="fusion_dec_which")
        which = which or "dec"  # a click on the chosen option clears it: keep showing DEC
        view = result.views[which]
        order = view.cluster_order(target)
        st.plotly_chart(charts.confusion_figure(view.contingency(target), order,
                                                title=f"{SPACES[which]}: clusters × "
                                                "true digits"), key="fusion_confusion", theme=None)
    st.plotly_chart(charts.cluster_examples_figure(
        digits().images, view.examples(12), order,
        title=f"{SPACES[which]}: the most typical images of each cluster",
        height=60 + 34 * len(order),
    ), key="fusion_examples", theme=None)  # fmt: skip
    st.caption(f"{np.bincount(view.labels, minlength=len(order)).min()} images in the smallest "
               "cluster; rows are ordered by the digit each cluster matches best.")
    retrain_panel(settings, setting)
