"""Lloyd's step in PyTorch, for ``KMeans(device="cuda")``.

The data are copied to the device once, in :class:`TorchStep`; every step then
sends only the K centroids there and brings back the StepResult (labels, sums,
counts, J, n_changed) that :func:`engine.kmeans.lloyd.fast_step` computes on the CPU.
The rule is the same: nearest centroid by ‖c‖² − 2 x·c in the data's precision,
first index on ties (each distinct centroid is scored once, as
:func:`engine.kmeans.lloyd.distinct_centers` explains); J as Σ ‖x − c‖² in float64. Rows go
in chunks, so the (rows, K) scores never cover all N points at once. As with any GEMM,
which of two nearly equidistant *different* centroids wins may depend on the BLAS
kernel, and torch may add J and the sums in an order that depends on its thread count
(the last bits only).

It runs on any torch device, "cpu" included: that is how the tests check it on
machines without a GPU.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from engine.kmeans.lloyd import StepResult, distinct_centers

# Scores per chunk: rows x K stays near this many values (64 MB in float32).
_SCORES_PER_CHUNK = 1 << 24


class TorchStep:
    """Callable with :func:`engine.kmeans.lloyd.fast_step`'s signature, holding X on ``device``.

    Prior validation of data is assumed: X is C-contiguous float32 or float64.
    """

    def __init__(self, X: npt.NDArray[np.floating], device: str) -> None:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but PyTorch sees no CUDA device here "
                "(torch.cuda.is_available() is False). Use device='cpu'."
            )
        self.device = torch.device(device)
        self.X = torch.from_numpy(X).to(self.device)  # (N, d), on the device for the whole fit
        self._labels: torch.Tensor | None = None  # last step's labels, on the device
        self._labels_host: npt.NDArray[np.int32] | None = None  # the same, as returned

    def __repr__(self) -> str:
        return f"TorchStep(n_samples={self.X.shape[0]}, device={str(self.device)!r})"

    def __call__(
        self,
        X: npt.NDArray[np.floating],
        centers: npt.NDArray[np.floating],
        labels_prev: npt.NDArray[np.int32] | None = None,
        x_squared_norms: object = None,
    ) -> StepResult:
        n_samples, n_features = self.X.shape
        n_clusters = centers.shape[0]
        distinct, first = distinct_centers(np.ascontiguousarray(centers, dtype=X.dtype))
        C = torch.from_numpy(distinct).to(self.device)  # (K', d) distinct centroids
        first_t = torch.from_numpy(first.astype(np.int64)).to(self.device)  # (K',) their labels
        c_sq_norms = (C * C).sum(dim=1)  # (K',)
        C64 = C.double()

        labels = torch.empty(n_samples, dtype=torch.int64, device=self.device)
        sums = torch.zeros((n_clusters, n_features), dtype=torch.float64, device=self.device)
        inertia = torch.zeros((), dtype=torch.float64, device=self.device)
        rows = max(1, _SCORES_PER_CHUNK // max(n_clusters, 1))
        for start in range(0, n_samples, rows):
            x = self.X[start : start + rows]  # (rows, d)
            scores = torch.addmm(c_sq_norms, x, C.T, beta=1, alpha=-2)  # (rows, K)
            nearest = scores.argmin(dim=1)  # (rows,) first index of the minimum
            label = first_t[nearest]  # (rows,) as the step reports it
            labels[start : start + rows] = label
            x64 = x.double()
            inertia += ((x64 - C64[nearest]) ** 2).sum()
            sums.index_add_(0, label, x64)
        counts = torch.bincount(labels, minlength=n_clusters)

        if labels_prev is None:
            n_changed = n_samples
        elif labels_prev is self._labels_host and self._labels is not None:
            n_changed = int((labels != self._labels).sum())
        else:
            prev = torch.from_numpy(np.asarray(labels_prev, dtype=np.int64)).to(self.device)
            n_changed = int((labels != prev).sum())

        labels_host = labels.to(torch.int32).cpu().numpy()
        self._labels, self._labels_host = labels, labels_host
        return StepResult(
            labels_host,
            sums.cpu().numpy().astype(X.dtype),
            counts.cpu().numpy().astype(np.int64),
            float(inertia),
            n_changed,
        )
