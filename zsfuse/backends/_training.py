"""Honest "zero-shot": was the corpus being scored in the audio-language model's training data?

The facts live in the registry (:class:`~._registry.KnownModel.training_corpora`,
with their source); this module matches them against a corpus's name and
words the caveat that ``zsfuse evaluate``, ``zsfuse zero-shot`` and every
report carry.
"""

from __future__ import annotations

import os
import re

from ._registry import known_model, split_prefix

__all__ = ["corpus_key", "not_zero_shot", "trained_on"]


def corpus_key(name) -> str:
    """A corpus name as it is compared: lower case, letters and digits only.

    >>> corpus_key("MSP-Podcast"), corpus_key("crema_d"), corpus_key("Emo-DB")
    ('msppodcast', 'cremad', 'emodb')
    """
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def trained_on(model):
    """``(family, KnownModel)`` of a released model (prefix ignored), or ``(None, None)`` for any other.

    Parameters
    ----------
    model : str or path-like
        As given to :class:`~zsfuse.CLAPZeroShotTransformer`.
    """
    if not isinstance(model, (str, os.PathLike)):
        return None, None
    _, name = split_prefix(model)
    return known_model(name)


def not_zero_shot(model, corpora):
    """The caveat when one of ``corpora`` was in ``model``'s training data, else None.

    Parameters
    ----------
    model : str or path-like
        The audio-language model.
    corpora : iterable of str
        Names of the corpus being scored (e.g. a dataset's name and its
        EmoBox name); any spelling (``"MSP-Podcast"``, ``"msppodcast"``).

    Returns
    -------
    str or None
        E.g. ``"not zero-shot: ParaCLAP (KeiKinn/paraclap) was trained on
        MSP-Podcast (source: ...)"``.

    Examples
    --------
    >>> not_zero_shot("msclap-2023", ["iemocap"]).split(" (source")[0]
    'not zero-shot: MS-CLAP (msclap-2023) was trained on iemocap'
    >>> not_zero_shot("msclap-2023", ["ravdess"]) is None
    True
    """
    family, entry = trained_on(model)
    if entry is None:
        return None
    wanted = {corpus_key(c) for c in corpora if c}
    seen = [c for c in entry.training_corpora if corpus_key(c) in wanted]
    if not seen:
        return None
    source = f" (source: {entry.source})" if entry.source else ""
    return (
        f"not zero-shot: {family.title} ({entry.name}) was trained on {', '.join(seen)}{source}; its "
        "scores on this corpus measure data the model has seen."
    )
