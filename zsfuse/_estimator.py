"""What the two audio transformers share: parameters for running models, ``X`` as
clips, feature names, tags and the embedding store.

Estimators hold parameters and small numpy state only: models live in the
module-level loader cache (:mod:`zsfuse.models`) and embeddings in the store
(:mod:`zsfuse.store`), so ``clone`` and pickling are cheap and never copy weights.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .audio import Clips
from .store import get_store

__all__ = ["AudioTransformer", "RUNTIME_PARAMS", "check_targets"]

#: Parameters that say how to run a model, shared by both transformers.
RUNTIME_PARAMS = ("sampling_rate", "device", "dtype", "batch_size", "cache_dir", "progress")


class AudioTransformer(TransformerMixin, BaseEstimator):
    """Base class of the transformers whose ``X`` is a sequence of clips.

    Subclasses define ``__init__`` (storing parameters as given), ``fit``,
    ``transform`` and ``_feature_names()``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a sequence of clips (paths or waveforms), not a numeric table
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    # -- X -----------------------------------------------------------------------------------------
    def _clips(self, X, **kwargs) -> Clips:
        """Return ``X`` as clips; arrays are at ``sampling_rate``, which has no default.

        An array's rate is never guessed from the model: two steps of one
        pipeline would read the same array at two rates (48 kHz for CLAP,
        16 kHz for a speech model) and still answer. Arrays without a stated
        rate are refused; files carry their own.
        """
        return Clips(X, sampling_rate=self.sampling_rate, **kwargs)

    def _store(self):
        return get_store(self.cache_dir)

    def _check_runtime_params(self):
        """Validate the shared runtime parameters (called from ``fit``)."""
        if not (isinstance(self.batch_size, numbers.Integral) and not isinstance(self.batch_size, bool)
                and self.batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}.")
        for name in ("progress", "trust_remote_code"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}.")
        from .models import resolve_device, resolve_dtype

        resolve_dtype(self.dtype, resolve_device(self.device))  # a missing GPU fails here, not at load

    # -- output ----------------------------------------------------------------------------------------
    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : ignored
            Present for API consistency (the input is audio, not named columns).

        Returns
        -------
        ndarray of str
            One name per output column.
        """
        check_is_fitted(self)
        return np.asarray(self._feature_names(), dtype=object)


def check_targets(y, n_clips):
    """Check ``y`` against ``X`` before any model loads (cheap; ``y=None`` passes).

    Parameters
    ----------
    y : array-like or None
        Labels, one per clip.
    n_clips : int
        Number of clips in ``X``.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D or its length differs from the number of clips.
    """
    if y is None:
        return
    shape = np.shape(y)
    if len(shape) != 1:
        raise ValueError(f"y must be 1-D (one label per clip), got shape {shape}.")
    if shape[0] != n_clips:
        raise ValueError(
            f"X holds {n_clips} clips but y holds {shape[0]} labels: they must match one to one "
            "(checked before any model loads)."
        )
