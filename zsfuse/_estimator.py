"""What the two audio transformers share: parameters for running models (their
constraints, the device check), ``X`` as clips, feature names, tags, the embedding
store and the names of its namespaces.

Estimators hold parameters and small numpy state only: models live in the
module-level loader cache (:mod:`zsfuse.models`) and embeddings in the store
(:mod:`zsfuse.store`), so ``clone`` and pickling are cheap and never copy weights.
"""

from __future__ import annotations

import os
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._batching import decode_group, resolve_batch_size
from ._params import Devices, Dtypes, NumberNotBool
from .audio import Clips
from .store import get_store

__all__ = ["RUNTIME_PARAMS", "AudioTransformer", "check_targets", "store_namespace"]

#: Parameters that say how to run a model, shared by both transformers.
RUNTIME_PARAMS = ("sampling_rate", "device", "dtype", "batch_size", "cache_dir", "progress")


class AudioTransformer(TransformerMixin, BaseEstimator):
    """Base class of the transformers whose ``X`` is a sequence of clips.

    Subclasses define ``__init__`` (storing parameters as given), ``fit``,
    ``transform`` and ``_feature_names()``, and extend
    ``_parameter_constraints`` with their own parameters
    (``{**AudioTransformer._parameter_constraints, ...}``). ``fit`` starts
    with :meth:`_check_params`, then the rules that link parameters, then
    :meth:`_check_input`: all before any model loads.
    """

    #: The parameters both transformers take (documented once, in :data:`zsfuse._params.PARAMETER_DOCS`).
    _parameter_constraints: ClassVar[dict] = {
        "model": [str, os.PathLike],
        "sampling_rate": [None, NumberNotBool(Real, 0, None, closed="neither")],
        "device": [Devices()],
        "dtype": [Dtypes()],
        "batch_size": [StrOptions({"auto"}), NumberNotBool(Integral, 1, None, closed="left")],
        "cache_dir": [None, str, os.PathLike],
        "progress": ["boolean"],
        "revision": [None, str],
        "trust_remote_code": ["boolean"],
    }

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

    # -- validation (before any model loads) ----------------------------------------------------------
    def _check_params(self):
        """Check every parameter against its declared constraint, then the device.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            (a ``ValueError``) for a value outside its constraint.
        ValueError
            For a device this machine lacks (a missing GPU fails here, not at load).
        """
        self._validate_params()
        self._device_and_dtype()

    def check_settings(self, X=None, y=None):
        """Run every check of ``fit`` that loads no model, and open the embedding store.

        ``zsfuse evaluate`` calls it on every grid point before any clip is
        encoded, so that a mistake fails in seconds.

        Parameters
        ----------
        X : sequence of clips, optional
            Checked for structure only (arrays need ``sampling_rate``).
        y : array-like, optional
            Labels, one per clip of ``X``.

        Raises
        ------
        ValueError
            For a parameter outside its constraint, a device this machine
            lacks, or ``X``/``y`` that do not fit together.
        CacheError
            For a ``cache_dir`` whose store cannot be used.
        """
        self._check_params()
        self._check_input(X, y)
        self._store()

    def _check_input(self, X, y):
        """The structure of ``X`` (arrays need ``sampling_rate``) and ``y`` against it; ``X=None`` passes."""
        if X is not None:
            check_targets(y, len(self._clips(X)))

    def _device_and_dtype(self):
        """The resolved torch device and compute dtype (the device must exist here)."""
        from .models import resolve_device, resolve_dtype

        device = resolve_device(self.device)
        return device, resolve_dtype(self.dtype, device)

    def _batch_size(self, model):
        """Pieces per forward pass: ``batch_size``, with ``"auto"`` resolved for the device ``model`` runs on.

        ``model`` is a loaded adapter (its ``device`` attribute). The value never
        enters a store namespace: results do not depend on it.
        """
        return resolve_batch_size(self.batch_size, model.device)

    def _decode_group(self, model):
        """Clips decoded and encoded at once (:func:`~zsfuse._batching.decode_group`): ``batch_size``, or more."""
        return decode_group(self.batch_size, model.device)

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


def store_namespace(kind, encoder, **settings):
    """The embedding-store namespace of vectors made by ``encoder`` with ``settings``.

    Everything that changes a vector is in it: the kind of vector, the
    weights (fingerprint), the settings, and the device type and compute
    dtype (results differ slightly between them). A namespace keys the store,
    so this string must never change for the same vectors.

    Parameters
    ----------
    kind : str
        What the vectors are, with a version (e.g. ``"clap-text"``, ``"fm/1"``).
    encoder : object
        A loaded model adapter with ``fingerprint``, ``device`` and ``dtype``.
    **settings
        ``name=value`` pairs, written in the order given.

    Returns
    -------
    str
        ``kind|fingerprint|name=value|...|device type|dtype``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> encoder = SimpleNamespace(fingerprint="wavlm:abc", device="cuda:1", dtype="torch.float16")
    >>> store_namespace("fm/1", encoder, rate=16000, pooling="mean")
    'fm/1|wavlm:abc|rate=16000|pooling=mean|cuda|float16'
    """
    parts = [kind, encoder.fingerprint, *(f"{name}={value}" for name, value in settings.items())]
    parts += [encoder.device.split(":")[0], str(encoder.dtype).removeprefix("torch.")]
    return "|".join(parts)
