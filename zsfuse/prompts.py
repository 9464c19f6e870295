"""Prompt ensembles and text prompt amplification, and how their scores are pooled.

A class's prompts are every template filled with every one of its words, each
repeated ``text_repeats`` times. The three ensemble rules turn per-prompt text
embeddings into per-class scores; all work on plain numpy arrays.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

import numpy as np

from ._numeric import log_softmax, normalize_rows

__all__ = [
    "EMOTION_WORDS",
    "ENSEMBLES",
    "TEXT_REPEAT_UNITS",
    "build_prompts",
    "check_distinct_embeddings",
    "check_distinct_prompts",
    "check_template",
    "class_logits",
    "emotion_words",
    "normalize_rows",
]

ENSEMBLES = ("embedding", "logit", "proba")
TEXT_REPEAT_UNITS = ("prompt", "label")

#: The word a prompt uses for the class codes of the common SER corpora
#: (IEMOCAP, EmoBox, CREMA-D, Emo-DB, MSP-Podcast): a prompt reads
#: "this person is feeling angry.", not "... feeling ang.". Keys are lower case.
EMOTION_WORDS = {
    "ang": "angry",
    "anger": "angry",
    "angry": "angry",
    "a": "angry",
    "w": "angry",
    "hap": "happy",
    "happiness": "happy",
    "happy": "happy",
    "joy": "happy",
    "h": "happy",
    "f": "happy",
    "exc": "excited",
    "excited": "excited",
    "neu": "neutral",
    "neutral": "neutral",
    "n": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "s": "sad",
    "t": "sad",
    "fea": "fearful",
    "fear": "fearful",
    "fearful": "fearful",
    "fearfulness": "fearful",
    "dis": "disgusted",
    "disgust": "disgusted",
    "disgusted": "disgusted",
    "d": "disgusted",
    "sur": "surprised",
    "surprise": "surprised",
    "surprised": "surprised",
    "u": "surprised",
    "ps": "surprised",
    "pleasant_surprise": "surprised",
    "pleasant_surprised": "surprised",
    "cal": "calm",
    "calm": "calm",
    "bor": "bored",
    "boredom": "bored",
    "bored": "bored",
    "l": "bored",
    "con": "contemptuous",
    "contempt": "contemptuous",
    "c": "contemptuous",
    "fru": "frustrated",
    "frustration": "frustrated",
    "frustrated": "frustrated",
}


def emotion_words(classes) -> dict:
    """Return ``{class: (word,)}``: the prompt word of each class code.

    Codes of :data:`EMOTION_WORDS` (matched case-insensitively) get their
    adjective; any other class keeps its own name, with underscores read as
    spaces.

    Parameters
    ----------
    classes : sequence of str
        The class labels, e.g. ``("ang", "hap", "neu", "sad")``.

    Returns
    -------
    dict
        Class -> one-word tuple, usable as ``label_words``.

    Examples
    --------
    >>> emotion_words(["ang", "hap", "neutral", "pleasant_surprise"])
    {'ang': ('angry',), 'hap': ('happy',), 'neutral': ('neutral',), 'pleasant_surprise': ('surprised',)}
    """
    out = {}
    for c in classes:
        key = str(c).strip().lower()
        out[c] = (EMOTION_WORDS.get(key, key.replace("_", " ")),)
    return out


def check_template(template) -> str:
    """Check that a template has exactly one empty ``{}`` field and return it.

    Parameters
    ----------
    template : str
        E.g. ``"this person is feeling {}."``.

    Returns
    -------
    str
        The template.

    Raises
    ------
    ValueError
        If it is not a string, has no ``{}``, more than one field, or a named or
        numbered field.
    """
    if not isinstance(template, str):
        raise ValueError(f"a template must be a string with one '{{}}', got {template!r}.")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(f"template {template!r} is not a valid format string ({exc}).") from exc
    if fields != [""]:
        found = (
            "no '{}'"
            if not fields
            else (f"{len(fields)} fields ({', '.join(sorted({'{' + f + '}' for f in fields}))})")
        )
        raise ValueError(
            f"template {template!r} must hold exactly one empty '{{}}' where the class word goes; "
            f"it has {found}. Write literal braces as '{{{{' and '}}}}'."
        )
    return template


def repeat_text(template: str, word: str, k: int, unit: str) -> str:
    """Fill ``template`` with ``word``, repeating the query ``k`` times.

    Parameters
    ----------
    template : str
        A template with one ``{}``.
    word : str
        The class word.
    k : int
        Text repeats, at least 1.
    unit : {"prompt", "label"}
        ``"prompt"`` repeats the whole filled prompt (joined by a space);
        ``"label"`` repeats the word inside the template (joined by a space).

    Returns
    -------
    str
        The exact string given to the text encoder.

    Examples
    --------
    >>> repeat_text("a {} voice.", "sad", 2, "prompt")
    'a sad voice. a sad voice.'
    >>> repeat_text("a {} voice.", "sad", 2, "label")
    'a sad sad voice.'
    """
    if unit == "prompt":
        return " ".join([template.format(word)] * k)
    if unit == "label":
        return template.format(" ".join([word] * k))
    raise ValueError(f"text_repeat_unit must be one of {TEXT_REPEAT_UNITS}, got {unit!r}.")


def resolve_label_words(labels, label_words) -> dict:
    """Return ``{class: tuple of words}`` for the classes, checking that both agree.

    Parameters
    ----------
    labels : sequence
        The classes.
    label_words : mapping or None
        Class -> word or sequence of words. Default: each class's own name.

    Returns
    -------
    dict
        Class -> non-empty tuple of words.
    """
    if label_words is None:
        return {c: (str(c),) for c in labels}
    if not isinstance(label_words, Mapping):
        raise ValueError(
            f"label_words must map each class to its words, e.g. {{'hap': ('happy', 'joyful')}}; "
            f"got {type(label_words).__name__}."
        )
    keys, wanted = set(label_words), set(labels)
    if keys != wanted:
        parts = []
        if wanted - keys:
            parts.append(f"no words for {sorted(map(str, wanted - keys))}")
        if keys - wanted:
            parts.append(f"words for unknown classes {sorted(map(str, keys - wanted))}")
        raise ValueError(f"labels and label_words disagree: {'; '.join(parts)}.")
    out = {}
    for c in labels:
        words = label_words[c]
        words = (words,) if isinstance(words, str) else tuple(words)
        if not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise ValueError(f"label_words[{c!r}] must be a non-empty string or sequence of them.")
        out[c] = words
    return out


def build_prompts(classes, label_words, templates, text_repeats=1, text_repeat_unit="prompt"):
    """Return the prompt strings of each class.

    Parameters
    ----------
    classes : sequence
        The classes, in output order.
    label_words : mapping
        Class -> tuple of words (see :func:`resolve_label_words`).
    templates : sequence of str
        Templates, each with one ``{}``.
    text_repeats : int, default=1
        Text prompt amplification.
    text_repeat_unit : {"prompt", "label"}, default="prompt"
        What is repeated (see :func:`repeat_text`).

    Returns
    -------
    list of list of str
        ``prompts[c][p]``: prompt ``p`` of class ``c``, in template-major order
        (all words of template 0, then template 1, ...).
    """
    return [
        [repeat_text(t, w, text_repeats, text_repeat_unit) for t in templates for w in label_words[c]] for c in classes
    ]


def _tied(items, same):
    """Index pairs ``(i, j)``, ``i < j``, whose items are the same by ``same``."""
    return [(i, j) for i in range(len(items)) for j in range(i + 1, len(items)) if same(items[i], items[j])]


def _pairs(classes, tied):
    return "; ".join(f"{_plain(classes[i])!r} and {_plain(classes[j])!r}" for i, j in tied)


def _plain(label):
    """A numpy scalar label as the Python value it holds (its repr is then the same in numpy 1 and 2)."""
    return label.item() if isinstance(label, np.generic) else label


def check_distinct_prompts(classes, prompts):
    """Refuse classes whose prompts are the same strings: their scores would always tie.

    It happens with labels that differ only by case (``"Angry"``, ``"angry"``)
    once their words are lower-cased, or with two classes given the same words.

    Parameters
    ----------
    classes : sequence
        The classes, in output order.
    prompts : list of list of str
        What :func:`build_prompts` returned.

    Raises
    ------
    ValueError
        Naming each pair of classes and one of their shared prompts.
    """
    classes = list(classes)
    tied = _tied([sorted(set(p)) for p in prompts], lambda a, b: a == b)
    if tied:
        raise ValueError(
            f"classes {_pairs(classes, tied)} get identical prompts (e.g. {prompts[tied[0][0]][0]!r}), "
            "so their zero-shot scores would always tie. Give each class its own words with "
            "label_words={...}, or merge the classes (labels that differ only by case are the usual cause)."
        )


def check_distinct_embeddings(classes, prompts, embeddings):
    """Refuse classes whose prompt embeddings are identical (e.g. an uncased text tower).

    Parameters
    ----------
    classes : sequence
        The classes, in output order.
    prompts : list of list of str
        The prompts of each class.
    embeddings : list of ndarray
        ``embeddings[c]``: the text embeddings of class ``c``'s prompts.

    Raises
    ------
    ValueError
        Naming each pair of classes whose prompts the text tower cannot tell apart.
    """
    keyed = [np.unique(np.asarray(e, dtype=np.float64).round(6), axis=0) for e in embeddings]
    tied = _tied(keyed, lambda a, b: a.shape == b.shape and np.array_equal(a, b))
    if tied:
        raise ValueError(
            f"the text tower gives classes {_pairs(list(classes), tied)} identical embeddings: their "
            f"prompts (e.g. {prompts[tied[0][0]][0]!r} and {prompts[tied[0][1]][0]!r}) differ only in "
            "ways it ignores, such as letter case for an uncased tokenizer, so their zero-shot scores "
            "would always tie. Give each class its own words with label_words={...}."
        )


def prototypes(text_embeddings, ensemble):
    """Reduce per-prompt text embeddings to what scoring needs.

    Parameters
    ----------
    text_embeddings : list of ndarray
        ``text_embeddings[c]``: array (n_prompts_c, dim) of class ``c``'s prompts.
    ensemble : {"embedding", "logit", "proba"}
        ``"embedding"``: one prototype per class, the re-normalised mean of the
        normalised prompt embeddings (the CLIP recipe); otherwise every
        normalised prompt embedding is kept.

    Returns
    -------
    ndarray
        (n_classes, dim) for ``"embedding"``, else (n_classes, n_prompts, dim) when
        every class has the same number of prompts, else an object array.
    """
    if ensemble not in ENSEMBLES:
        raise ValueError(f"ensemble must be one of {ENSEMBLES}, got {ensemble!r}.")
    normed = [normalize_rows(e) for e in text_embeddings]
    if ensemble == "embedding":
        return normalize_rows(np.stack([e.mean(axis=0) for e in normed]))
    if len({e.shape for e in normed}) == 1:
        return np.stack(normed)
    out = np.empty(len(normed), dtype=object)
    out[:] = normed
    return out


def class_logits(audio_embeddings, protos, logit_scale, ensemble, n_templates=1):
    """Per-class zero-shot logits of each clip.

    Parameters
    ----------
    audio_embeddings : ndarray, shape (n_clips, dim)
        Audio embeddings (normalised here).
    protos : ndarray
        What :func:`prototypes` returned.
    logit_scale : float
        The model's temperature, already exponentiated: logits = scale * cosine.
    ensemble : {"embedding", "logit", "proba"}
        ``"embedding"``: scale * cos(audio, prototype). ``"logit"``: the mean over
        a class's prompts of scale * cos(audio, prompt). ``"proba"``: for each
        template, a softmax over classes of that template's logits (each class's
        words averaged), then the mean of those probabilities over templates;
        returned as log-probabilities, which softmax back to that mean.
    n_templates : int, default=1
        Number of templates (``"proba"`` only; prompts are template-major).

    Returns
    -------
    ndarray of float64, shape (n_clips, n_classes)
    """
    a = normalize_rows(audio_embeddings)
    if ensemble == "embedding":
        return logit_scale * a @ protos.T
    per_class = [logit_scale * a @ np.asarray(p).T for p in protos]  # (n_clips, n_prompts_c)
    if ensemble == "logit":
        return np.stack([s.mean(axis=1) for s in per_class], axis=1)
    # "proba": template-major prompts: reshape each class to (n_clips, n_templates, n_words)
    by_template = np.stack(
        [s.reshape(s.shape[0], n_templates, -1).mean(axis=2) for s in per_class], axis=2
    )  # (n_clips, n_templates, n_classes)
    log_p = np.stack([log_softmax(by_template[:, t]) for t in range(n_templates)], axis=1)
    m = log_p.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(log_p - m).mean(axis=1, keepdims=True)))[:, 0]
