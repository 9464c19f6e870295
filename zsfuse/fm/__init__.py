"""Speech foundation-model embeddings: :class:`FMEmbeddingTransformer`.

The estimator lives in ``_transformer``; the transformers speech-model adapter
(wav2vec 2.0 family and the Whisper encoder) in ``_backend``; frame arithmetic,
chunking and batch planning in ``_chunking``; layer selection and time pooling
in ``_pooling``.
"""

from ..exceptions import UnsupportedModelError
from ._backend import SUPPORTED_MODEL_TYPES
from ._transformer import FMEmbeddingTransformer

__all__ = ["FMEmbeddingTransformer", "SUPPORTED_MODEL_TYPES", "UnsupportedModelError"]
