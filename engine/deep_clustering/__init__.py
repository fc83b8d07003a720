"""Where clustering meets deep learning: Deep Embedded Clustering (Xie et al., 2016) on digits.

K-means on raw pixels, K-means on an autoencoder's embedding, and DEC, which refines the
embedding and the centres together by sharpening its own soft assignments - on
scikit-learn's bundled 8×8 digits. This package may import the K-means lab (its centres
start DEC) and is declared in ``tests/test_layering.py``.

=============== ================================================================
module          what it is for
=============== ================================================================
``digits``      the 1,797 digits, pixels in [0, 1]
``autoencoder`` the encoder/decoder and its pretraining
``dec``         soft assignment, target distribution, the KL refinement loop
``study``       the three clusterings side by side, their ARI, what the page draws
``weights``     the shipped weights and their JSON record (``assets/deep_clustering``)
=============== ================================================================

>>> from engine.deep_clustering import load_digits, load_shipped, evaluate
>>> models, record = load_shipped()  # doctest: +SKIP
>>> evaluate(models, load_digits()).ari  # doctest: +SKIP
"""

from engine.deep_clustering.autoencoder import Autoencoder, AutoencoderConfig, pretrain
from engine.deep_clustering.dec import (
    DEC,
    DECEpoch,
    DECHistory,
    refine,
    soft_assignment,
    target_distribution,
)
from engine.deep_clustering.digits import Digits, load_digits
from engine.deep_clustering.study import (
    MAX_DEC_EPOCHS,
    MAX_PRETRAIN_EPOCHS,
    SPACES,
    ClusteringView,
    DeepClusteringConfig,
    DeepClusteringResult,
    TrainedModels,
    evaluate,
    train,
)
from engine.deep_clustering.weights import load_shipped, save_shipped

__all__ = [
    "DEC",
    "MAX_DEC_EPOCHS",
    "MAX_PRETRAIN_EPOCHS",
    "SPACES",
    "Autoencoder",
    "AutoencoderConfig",
    "ClusteringView",
    "DECEpoch",
    "DECHistory",
    "DeepClusteringConfig",
    "DeepClusteringResult",
    "Digits",
    "TrainedModels",
    "evaluate",
    "load_digits",
    "load_shipped",
    "pretrain",
    "refine",
    "save_shipped",
    "soft_assignment",
    "target_distribution",
    "train",
]
