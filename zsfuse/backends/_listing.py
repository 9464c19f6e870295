"""``zsfuse.list_backends()``: every model family zsfuse reads, from the two registries."""

from __future__ import annotations

from .._speech_families import SPEECH_FAMILIES
from ._registry import registered_families

__all__ = ["backends_help", "families_markdown", "list_backends"]


def list_backends(kind=None) -> list:
    """Every model family zsfuse can load, as plain dicts (one per family).

    Zero-shot (audio-language) families come from the backend registry
    (:mod:`zsfuse.backends`), speech foundation model families from the FM
    registry; the CLI's help and ``docs/zero_shot.md`` are written from the same
    entries.

    Parameters
    ----------
    kind : {"zero-shot", "fm"}, optional
        Only one kind (default: both).

    Returns
    -------
    list of dict
        Keys: ``kind``, ``family``, ``title``, ``summary``, ``models`` (released
        names), ``sampling_rate``, ``window``, ``pooling``; zero-shot families
        also ``prefixes``, ``options`` (name -> description), ``audio_repeats``,
        ``pad_mode``, ``needs`` and ``training_data`` (model -> corpora, source);
        FM families ``model_types``.

    Examples
    --------
    >>> import zsfuse
    >>> [b["family"] for b in zsfuse.list_backends("zero-shot")][:2]
    ['msclap', 'hf-clap']
    >>> "wavlm" in zsfuse.list_backends("fm")[0]["model_types"]
    True
    """
    if kind not in (None, "zero-shot", "fm"):
        raise ValueError(f"kind must be None, 'zero-shot' or 'fm', got {kind!r}.")
    rows = []
    if kind in (None, "zero-shot"):
        for f in registered_families():
            rows.append(
                {
                    "kind": "zero-shot",
                    "family": f.name,
                    "title": f.title,
                    "summary": f.summary,
                    "prefixes": list(f.prefixes),
                    "models": [m.name for m in f.known_models],
                    "options": dict(f.options),
                    "sampling_rate": f.sampling_rate,
                    "window": f.window,
                    "pooling": f.pooling,
                    "audio_repeats": f.audio_repeats,
                    "pad_mode": f.pad_mode,
                    "needs": f.needs,
                    "training_data": {
                        m.name: {"corpora": list(m.training_corpora), "source": m.source, "licence": m.licence}
                        for m in f.known_models
                    },
                }
            )
    if kind in (None, "fm"):
        for f in SPEECH_FAMILIES:
            rows.append(
                {
                    "kind": "fm",
                    "family": f.name,
                    "title": f.title,
                    "summary": f.summary,
                    "models": list(f.examples),
                    "model_types": list(f.model_types),
                    "sampling_rate": f.sampling_rate,
                    "window": f.window,
                    "pooling": f.pooling,
                }
            )
    return rows


def backends_help(kind) -> str:
    """A few lines for the CLI's ``--help``: each family, its prefix and released models."""
    lines = []
    for row in list_backends(kind):
        models = ", ".join(row["models"]) or "files and folders"
        prefix = f" [{row['family']}:]" if kind == "zero-shot" else ""
        lines.append(f"{row['title']}{prefix}: {models}")
    return "; ".join(lines)


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ") or "—"


def families_markdown() -> str:
    """The two Markdown tables of ``docs/zero_shot.md`` ("Models"), written from the registry.

    The first has one row per family (prefix, released models, rate, input,
    pooling, what ``audio_repeats`` and ``pad_mode`` do, options, what it
    needs); the second one row per released model (licence, the emotion or
    speech corpora in its training data with the source, published zero-shot
    figures). ``tests/test_docs.py`` checks that the docs hold exactly this.

    Returns
    -------
    str
    """
    head = ["Family (prefix)", "Released models", "Rate", "Input", "Pooling"]
    head += ["`audio_repeats`", "`pad_mode`", "`backend_options`", "Needs"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for f in registered_families():
        models = ", ".join(f"`{m.name}`" for m in f.known_models) or "checkpoint files"
        options = "; ".join(f"`{k}`: {v}" for k, v in f.options.items()) or "none"
        rate = f"{f.sampling_rate / 1000:g} kHz" if f.sampling_rate else ""
        row = [
            f"{f.title} (`{'`, `'.join(p + ':' for p in f.prefixes)}`)",
            models,
            rate,
            f.window,
            f.pooling,
            f.audio_repeats,
            f.pad_mode,
            options,
            f.needs,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    head = ["Released model", "Licence", "Emotion or speech corpora in its training data", "Source"]
    head += ["Published zero-shot figures"]
    lines += ["", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for f in registered_families():
        for m in f.known_models:
            corpora = ", ".join(m.training_corpora) or "none documented"
            row = [f"`{m.name}`", m.licence, corpora + (f" ({m.note})" if m.note else ""), m.source, m.figures]
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"
