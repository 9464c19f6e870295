"""Late fusion of zero-shot class scores with speech foundation model embeddings.

:class:`LateFusionClassifier` is a plain scikit-learn classifier over the
output of ``FeatureUnion([("zs", CLAPZeroShotTransformer(...)), ("fm",
FMEmbeddingTransformer(...))])``: numeric arrays in, classes out. It knows
nothing about audio and passes scikit-learn's estimator checks.

One concern per module: ``_classifier`` (the classifier), ``_modes`` (one
class per fusion mode), ``_blocks`` (which columns are the zero-shot block,
block normalisation), ``_scores`` (softmax, temperature), ``_heads`` (the
default head). This file only re-exports. See ``docs/fusion.md`` for the
three fusion modes and how to read them.
"""

from ._blocks import (
    LAYERNORM_EPS,
    FusionWarning,
    layernorm,
    zs_label_of,
)
from ._blocks import NORMALIZE_OPTIONS as NORMALIZE_OPTIONS
from ._blocks import fit_normalizer as fit_normalizer
from ._blocks import normalize_block as normalize_block
from ._blocks import resolve_zs_columns as resolve_zs_columns
from ._classifier import LateFusionClassifier
from ._emobox_head import EmoBoxHead
from ._heads import default_head
from ._modes import FUSION_MODES
from ._scores import PROBA_FLOOR, TEMPERATURE_BOUNDS, fit_temperature
from ._scores import log_softmax as log_softmax
from ._scores import looks_like_proba as looks_like_proba
from ._scores import safe_log as safe_log
from ._scores import softmax as softmax
from ._superb_head import SuperbHead

__all__ = [
    "FUSION_MODES",
    "EmoBoxHead",
    "LAYERNORM_EPS",
    "PROBA_FLOOR",
    "TEMPERATURE_BOUNDS",
    "FusionWarning",
    "LateFusionClassifier",
    "SuperbHead",
    "default_head",
    "fit_temperature",
    "layernorm",
    "zs_label_of",
]
