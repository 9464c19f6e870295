"""Saving and loading fitted zsfuse estimators and pipelines with skops.

skops stores an estimator's parameters and fitted attributes without pickle,
and at load time refuses to build any type that is not trusted. scikit-learn's
and numpy's own types are trusted by skops already; :data:`TRUSTED_TYPES` adds
zsfuse's three estimators -- and nothing else. :func:`load` refuses a file
that holds any other untrusted type and names it: such a file did not come
from a plain zsfuse pipeline, and building an unknown type can run code.

No zsfuse estimator holds model weights: a saved pipeline is small (its
parameters, the prompts' text embeddings and the head's coefficients) and
reloads its models lazily, on first use, from the model id + revision or local
path it was configured with. Plain ``pickle`` and ``joblib`` work too, for
files you made yourself.

Examples
--------
>>> import zsfuse
>>> zsfuse.save(search.best_estimator_, "zsfuse.skops")      # doctest: +SKIP
>>> pipe = zsfuse.load("zsfuse.skops")                       # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings

from .exceptions import ZsfuseError

__all__ = ["TRUSTED_TYPES", "UntrustedTypesError", "load", "save"]

#: The types zsfuse itself adds to a skops file, as ``skops.io.get_untrusted_types``
#: names them (``module.QualifiedName``, the module that defines the class -- for
#: the FM transformer the private ``zsfuse.fm._transformer``): the classifier and
#: the two audio transformers. A dumped zsfuse pipeline lists only these (or a subset); every
#: other type in it is a scikit-learn, numpy or Python builtin type that skops
#: trusts by default.
TRUSTED_TYPES = (
    "zsfuse.fm._transformer.FMEmbeddingTransformer",
    "zsfuse.fusion.LateFusionClassifier",
    "zsfuse.zeroshot.CLAPZeroShotTransformer",
)


class UntrustedTypesError(ZsfuseError, ValueError):
    """A skops file holds types that are neither skops' defaults nor zsfuse's own.

    Parameters
    ----------
    path : str
        The file.
    types : list of str
        The offending type names.

    Attributes
    ----------
    path : str
        The file.
    types : list of str
        The offending type names.
    """

    def __init__(self, path, types):
        self.path = str(path)
        self.types = list(types)
        super().__init__(
            f"{self.path!r} holds types that zsfuse does not trust: {self.types}. "
            "Building them could run arbitrary code, so the file was not loaded. If you made the "
            "file yourself and trust these types, pass them explicitly: "
            f"zsfuse.load(path, trusted={self.types!r})."
        )


def save(estimator, path):
    """Save a (fitted) estimator or pipeline to a skops file.

    Parameters
    ----------
    estimator : object
        Usually a fitted pipeline made of zsfuse and scikit-learn estimators.
    path : str or path-like
        The file to write (conventionally ``*.skops``).

    Returns
    -------
    str
        ``path``, as a string.

    Warns
    -----
    UserWarning
        When the file holds types outside skops' defaults and
        :data:`TRUSTED_TYPES`: :func:`load` will refuse it unless they are
        passed as ``trusted=``.
    """
    import skops.io as sio

    path = os.fspath(path)
    sio.dump(estimator, path)
    foreign = _foreign(sio.get_untrusted_types(file=path), ())
    if foreign:
        warnings.warn(
            f"{path!r} holds types that zsfuse.load refuses by default: {foreign}. Load it with "
            f"zsfuse.load(path, trusted={foreign!r}).",
            UserWarning,
            stacklevel=2,
        )
    return path


def load(path, trusted=None):
    """Load an estimator saved by :func:`save` (or ``skops.io.dump``).

    Only skops' default types and :data:`TRUSTED_TYPES` are built; a file
    that holds any other type is refused before anything is built.

    Parameters
    ----------
    path : str or path-like
        A skops file.
    trusted : sequence of str, optional
        More type names to accept (``module.QualifiedName``, as
        ``skops.io.get_untrusted_types`` lists them) -- for a pipeline with a
        step of your own. ``True`` ("trust everything") is not accepted.

    Returns
    -------
    object
        The estimator. zsfuse models reload from their id/path on first use.

    Raises
    ------
    UntrustedTypesError
        When the file holds a type that is neither a skops default, nor in
        :data:`TRUSTED_TYPES`, nor in ``trusted``; the message names it.
    TypeError
        When ``trusted`` is not a sequence of strings.
    """
    import skops.io as sio

    if trusted is None:
        extra = ()
    elif isinstance(trusted, (str, bytes)) or isinstance(trusted, bool) or not all(
        isinstance(t, str) for t in trusted
    ):
        raise TypeError(
            f"trusted must be a sequence of type names (str), got {trusted!r}; "
            "zsfuse never loads with trusted=True."
        )
    else:
        extra = tuple(trusted)
    path = os.fspath(path)
    untrusted = sio.get_untrusted_types(file=path)
    foreign = _foreign(untrusted, extra)
    if foreign:
        raise UntrustedTypesError(path, foreign)
    return sio.load(path, trusted=list(untrusted))


def _foreign(untrusted, extra):
    allowed = set(TRUSTED_TYPES) | set(extra)
    return sorted(t for t in untrusted if t not in allowed)
