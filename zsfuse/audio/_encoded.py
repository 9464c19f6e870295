"""A clip that carries embeddings of itself, computed elsewhere.

:func:`zsfuse.parallel.extract` returns one per clip: the clip as it was given,
its content digest and its vectors by store namespace. Passed as ``X``, such
clips are scored without the embedding store and without decoding: a worker
of a grid search on another machine needs neither the driver's ``cache_dir``
nor the audio files. A namespace a clip does not carry is encoded from its
``source`` as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["EncodedClip"]


@dataclass(frozen=True, eq=False)
class EncodedClip:
    """A clip with its content digest and precomputed embeddings.

    Parameters
    ----------
    source : str, path-like, Segment, ndarray or mapping
        The clip as it appears in ``X`` (decoded only for a namespace that
        ``vectors`` lacks).
    digest : str
        Its content digest (:func:`zsfuse.audio.content_digest` of the decoded clip).
    vectors : mapping of str to ndarray, default={}
        Embeddings by store namespace (the encoder's fingerprint and every
        setting that changes its input, so a vector is never used for another
        model or setting).

    Examples
    --------
    >>> import numpy as np
    >>> clip = EncodedClip("a.wav", "d" * 64, {"fm/1|m|x": np.ones(3, dtype=np.float32)})
    >>> clip.vector("fm/1|m|x")
    array([1., 1., 1.], dtype=float32)
    >>> clip.vector("fm/1|m|y") is None
    True
    """

    source: object
    digest: str
    vectors: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.digest, str) or not self.digest:
            raise ValueError(f"EncodedClip.digest must be a non-empty str, got {self.digest!r}.")
        if not isinstance(self.vectors, Mapping):
            raise ValueError(f"EncodedClip.vectors must be a mapping of namespace to array, got {type(self.vectors)}.")

    def vector(self, namespace):
        """Return the embedding kept for ``namespace``, or None.

        Parameters
        ----------
        namespace : str
            A store namespace.

        Returns
        -------
        ndarray or None
        """
        value = self.vectors.get(namespace)
        return None if value is None else np.asarray(value)

    def with_vectors(self, vectors):
        """Return a copy that also carries ``vectors`` (namespace -> array); the new ones win.

        Parameters
        ----------
        vectors : mapping of str to ndarray

        Returns
        -------
        EncodedClip
        """
        return EncodedClip(self.source, self.digest, {**self.vectors, **vectors})

    def __repr__(self):
        return f"EncodedClip({self.source!r}, digest={self.digest[:12]}..., namespaces={len(self.vectors)})"
