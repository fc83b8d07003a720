"""The K-means lab's engine (being split into one module per concern)."""

from engine.kmeans.estimator import KMeans, KMeansRun, LloydIteration, SeedingStep
from engine.kmeans.plane import *  # noqa: F403
from engine.kmeans.plane import __all__ as _plane_all

__all__ = ["KMeans", "KMeansRun", "LloydIteration", "SeedingStep", *_plane_all]
