"""A fitted run's history in a small file, and back: how a run on a cluster reaches the Lab.

:func:`save` writes a :class:`SavedRun` - the :class:`~engine.kmeans.history.KMeansRun` of
the fitted model (every iteration's centroids, both half-step J values, shifts, reassigned
counts, empty clusters), what the data were (rows, feature names) and, optionally, a small
sample of the points to draw under the centroids - as JSON or ``.npz`` (numbers as arrays,
everything else as one JSON header). Nothing of size N is stored, so a run on 10⁹ points
gives a file of kilobytes. :func:`load` / :func:`from_bytes` read it back and check every
field; anything else raises :class:`HistoryFileError` saying what is wrong.

>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> from engine.kmeans import KMeans, history_io
>>> X = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]])
>>> model = KMeans(n_clusters=2, init=np.array([[0, 0], [1, 1]])).fit(X)
>>> path = Path(tempfile.mkdtemp()) / "run.json"
>>> _ = history_io.save(path, history_io.SavedRun.of(model, feature_names=("x", "y")))
>>> history_io.load(path).run.inertia_curve.tolist()
[0.5, 0.25, 0.25, 0.25]
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.kmeans.history import KMeansRun, LloydIteration, SeedingStep

__all__ = ["FORMAT", "MAX_SAMPLE_ROWS", "HistoryFileError", "SavedRun", "from_bytes", "load",
           "save", "to_bytes"]  # fmt: skip

FORMAT = "engine.kmeans history"
VERSION = 1
MAX_SAMPLE_ROWS = 5_000
"""At most this many points are stored to draw under the centroids."""

_STOP_REASONS = ("labels unchanged", "centroid shift within tolerance", "max_iter reached")
# Per-iteration arrays: name → shape in terms of T (iterations), K (clusters), d (features).
_ITERATION_ARRAYS = {
    "centers_before": "TKd", "centers_after": "TKd", "inertia_assign": "T",
    "inertia_update": "T", "center_shift": "TK", "center_shift_total": "T", "n_changed": "T",
    "counts": "TK",
}  # fmt: skip
_RUN_ARRAYS = {"init_centers": "Kd", "centers": "Kd"}


class HistoryFileError(ValueError):
    """A history file that cannot be read: the message says what is wrong with it."""


@dataclass(frozen=True, eq=False)
class SavedRun:
    """What a history file holds.

    Attributes
    ----------
    run : KMeansRun
        The fitted model's run (``KMeans.history_``); seeding probabilities are not kept.
    n_samples : int
        Rows the model was fitted on.
    feature_names : tuple of str
    sample : ndarray of shape (m, n_features) or None
        Up to :data:`MAX_SAMPLE_ROWS` points of the data, to draw under the centroids.
    source : str
        Where the data came from (a file name), shown as text.
    seeding_rounds : tuple of (round, n_candidates, potential)
        The k-means|| passes (``KMeans.seeding_rounds_``), empty for other inits.
    """

    run: KMeansRun
    n_samples: int
    feature_names: tuple[str, ...]
    sample: npt.NDArray[np.float64] | None = None
    source: str = ""
    seeding_rounds: tuple[tuple[int, int, float], ...] = ()

    @classmethod
    def of(cls, model, *, n_samples: int | None = None, feature_names=None, sample=None,
           source: str = "") -> SavedRun:  # fmt: skip
        """The record of a fitted ``KMeans`` (numpy or dask)."""
        run = model.history_
        d = run.centers.shape[1]
        names = tuple(feature_names) if feature_names is not None else tuple(
            f"x{j + 1}" for j in range(d))  # fmt: skip
        if n_samples is None:
            n_samples = int(run.iterations[0].counts.sum())
        rounds = tuple((int(r.round), int(r.n_candidates), float(r.potential))
                       for r in getattr(model, "seeding_rounds_", ()))  # fmt: skip
        if sample is not None:
            sample = np.asarray(sample, dtype=np.float64)[:MAX_SAMPLE_ROWS]
        return cls(run, int(n_samples), names, sample, source, rounds)


# ----------------------------------------------------------------------------- writing


def _header_and_arrays(saved: SavedRun) -> tuple[dict, dict[str, np.ndarray]]:
    run = saved.run
    its = run.iterations
    arrays = {name: np.array([getattr(it, name) for it in its]) for name in _ITERATION_ARRAYS}
    arrays |= {name: np.asarray(getattr(run, name), dtype=np.float64) for name in _RUN_ARRAYS}
    if saved.sample is not None:
        arrays["sample"] = np.asarray(saved.sample, dtype=np.float64)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "init": run.init,
        "tol": run.tol,
        "stop_reason": run.stop_reason,
        "inertia": run.inertia,
        "n_iter": run.n_iter,
        "n_samples": saved.n_samples,
        "feature_names": list(saved.feature_names),
        "source": saved.source,
        "seeding": [[s.step, s.chosen, s.potential] for s in run.seeding],
        "seeding_rounds": [list(r) for r in saved.seeding_rounds],
        "empty_clusters": [list(it.empty_clusters) for it in its],
        "relocated_to": [list(it.relocated_to) for it in its],
    }
    return header, arrays


def to_bytes(saved: SavedRun, fmt: str = "json") -> bytes:
    """The file's content: ``fmt`` is "json" (one readable document) or "npz"."""
    header, arrays = _header_and_arrays(saved)
    if fmt == "json":
        doc = header | {"arrays": {k: v.tolist() for k, v in arrays.items()}}
        return json.dumps(doc, indent=1).encode()
    if fmt == "npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, header=np.array(json.dumps(header)), **arrays)
        return buffer.getvalue()
    raise ValueError(f"fmt={fmt!r} should be 'json' or 'npz'.")


def save(path: str | Path, saved: SavedRun) -> Path:
    """Write ``saved`` to ``path``; the suffix (.json or .npz) chooses the format."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("json", "npz"):
        raise ValueError(f"History file {path.name!r} should end in .json or .npz.")
    path.write_bytes(to_bytes(saved, fmt))
    return path


# ----------------------------------------------------------------------------- reading


def load(path: str | Path) -> SavedRun:
    """Read and check a history file written by :func:`save`."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise HistoryFileError(f"Could not read history file {path.name!r}: {exc}") from exc
    return from_bytes(content, path.name)


def from_bytes(content: bytes, name: str = "history file") -> SavedRun:
    """Parse and check a history file's content; ``name`` is used in messages only."""
    if content[:4] == b"PK\x03\x04":  # a zip archive: .npz
        header, arrays = _read_npz(content, name)
    else:
        header, arrays = _read_json(content, name)
    try:
        return _build(header, arrays)
    except HistoryFileError as exc:
        raise HistoryFileError(f"{name!r} is not a valid K-means history file: {exc}") from None


def _read_json(content: bytes, name: str) -> tuple[dict, dict]:
    try:
        doc = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HistoryFileError(
            f"{name!r} is neither a JSON nor an .npz K-means history file ({exc})."
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("arrays"), dict):
        raise HistoryFileError(f"{name!r} is JSON but not a K-means history file.")
    arrays = {}
    for key, value in doc.pop("arrays").items():
        try:
            arrays[key] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise HistoryFileError(
                f"{name!r}: the array {key!r} is not a regular array of numbers."
            ) from None
    return doc, arrays


def _read_npz(content: bytes, name: str) -> tuple[dict, dict]:
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        header = json.loads(str(arrays.pop("header")))
        arrays = {key: np.asarray(value, dtype=np.float64) for key, value in arrays.items()}
    except (zipfile.BadZipFile, OSError, ValueError, TypeError, KeyError, EOFError) as exc:
        raise HistoryFileError(f"{name!r} is a damaged .npz history file ({exc}).") from None
    if not isinstance(header, dict):
        raise HistoryFileError(f"{name!r}: its header is not a JSON object.")
    return header, arrays


def _field(header: dict, key: str, kind, check=lambda v: True, rule: str = ""):
    if key not in header:
        raise HistoryFileError(f"the field {key!r} is missing.")
    value = header[key]
    if isinstance(value, bool) or not isinstance(value, kind) or not check(value):
        raise HistoryFileError(f"the field {key!r} = {str(value)[:60]!r} {rule or 'is invalid'}.")
    return value


def _build(header: dict, arrays: dict[str, np.ndarray]) -> SavedRun:
    """Check every field against the others, then build the records."""
    if header.get("format") != FORMAT:
        raise HistoryFileError(f"its format is {str(header.get('format'))[:60]!r}, not {FORMAT!r}.")
    if header.get("version") != VERSION:
        raise HistoryFileError(f"version {header.get('version')!r} is not {VERSION}.")
    n_iter = _field(header, "n_iter", int, lambda v: v >= 1, "should be an integer >= 1")
    n_samples = _field(header, "n_samples", int, lambda v: v >= 1, "should be an integer >= 1")
    finite = lambda v: math.isfinite(v) and v >= 0  # noqa: E731
    tol = float(_field(header, "tol", (int, float), finite, "should be a number >= 0"))
    inertia = float(_field(header, "inertia", (int, float), finite, "should be a number >= 0"))
    stop = _field(header, "stop_reason", str, lambda v: v in _STOP_REASONS,
                  f"should be one of {_STOP_REASONS}")  # fmt: skip
    init = _field(header, "init", str, lambda v: len(v) <= 40, "should be a short text")
    names = _field(header, "feature_names", list,
                   lambda v: all(isinstance(s, str) for s in v), "should be a list of texts")
    source = _field(header, "source", str)

    for key in (*_ITERATION_ARRAYS, *_RUN_ARRAYS):
        if key not in arrays:
            raise HistoryFileError(f"the array {key!r} is missing.")
    n_clusters, d = arrays["centers"].shape if arrays["centers"].ndim == 2 else (0, 0)
    if n_clusters < 1 or d < 1:
        raise HistoryFileError(f"'centers' has shape {arrays['centers'].shape}; expected (K, d).")
    if len(names) != d:
        raise HistoryFileError(f"{len(names)} feature names for {d} features.")
    sizes = {"T": n_iter, "K": n_clusters, "d": d}
    for key, dims in (_ITERATION_ARRAYS | _RUN_ARRAYS).items():
        want = tuple(sizes[c] for c in dims)
        if arrays[key].shape != want:
            raise HistoryFileError(f"{key!r} has shape {arrays[key].shape}; expected {want}.")
        if not np.isfinite(arrays[key]).all():
            raise HistoryFileError(f"{key!r} contains NaN or infinite values.")
    for key in ("n_changed", "counts"):
        values = arrays[key]
        if (values < 0).any() or (values != np.round(values)).any():
            raise HistoryFileError(f"{key!r} should hold whole numbers >= 0.")
    if (arrays["counts"].sum(axis=1) != n_samples).any():
        raise HistoryFileError(f"the cluster sizes of some iteration do not add up to "
                               f"n_samples = {n_samples}.")  # fmt: skip
    sample = arrays.get("sample")
    if sample is not None and (sample.ndim != 2 or sample.shape[1] != d
                               or len(sample) > MAX_SAMPLE_ROWS
                               or not np.isfinite(sample).all()):  # fmt: skip
        raise HistoryFileError(f"'sample' should be at most {MAX_SAMPLE_ROWS} finite rows of "
                               f"{d} features; it has shape {sample.shape}.")  # fmt: skip

    empty = _index_lists(header, "empty_clusters", n_iter, n_clusters)
    relocated = _index_lists(header, "relocated_to", n_iter, n_samples)
    seeding = header.get("seeding", [])
    rounds = header.get("seeding_rounds", [])
    try:
        steps = tuple(SeedingStep(int(s), int(c), np.array([int(c)]), float(p))
                      for s, c, p in seeding)  # fmt: skip
        rounds = tuple((int(r), int(c), float(p)) for r, c, p in rounds)
    except (TypeError, ValueError):
        raise HistoryFileError("'seeding' or 'seeding_rounds' is malformed.") from None

    iterations = tuple(
        LloydIteration(
            iteration=t + 1,
            centers_before=arrays["centers_before"][t],
            centers_after=arrays["centers_after"][t],
            inertia_assign=float(arrays["inertia_assign"][t]),
            inertia_update=float(arrays["inertia_update"][t]),
            center_shift=arrays["center_shift"][t],
            center_shift_total=float(arrays["center_shift_total"][t]),
            n_changed=int(arrays["n_changed"][t]),
            counts=arrays["counts"][t].astype(np.int64),
            empty_clusters=empty[t],
            relocated_to=relocated[t],
        )
        for t in range(n_iter)
    )
    run = KMeansRun(
        init=init, init_centers=arrays["init_centers"], seeding=steps, iterations=iterations,
        tol=tol, stop_reason=stop, centers=arrays["centers"], inertia=inertia, n_iter=n_iter,
        is_best=True,
    )  # fmt: skip
    return SavedRun(run, n_samples, tuple(names), sample, source, rounds)


def _index_lists(header: dict, key: str, n_iter: int, bound: int) -> list[tuple[int, ...]]:
    """Per-iteration lists of indices, each in 0..bound-1."""
    value = header.get(key)
    ok = isinstance(value, list) and len(value) == n_iter and all(
        isinstance(v, list) and all(isinstance(i, int) and 0 <= i < bound for i in v)
        for v in value)  # fmt: skip
    if not ok:
        raise HistoryFileError(f"{key!r} should be {n_iter} lists of indices below {bound}.")
    return [tuple(v) for v in value]
