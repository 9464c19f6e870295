"""What a backend family is (:class:`ClapFamily`, :class:`KnownModel`) and reading a
checkpoint's keys: the definitions adapter modules import (the registry itself,
which imports the adapters, is :mod:`._registry`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Real

#: Longest segment a variable-length model takes by default (``backend_options["max_seconds"]``).
DEFAULT_MAX_SECONDS = 30.0

__all__ = [
    "ClapFamily",
    "KnownModel",
    "ResolvedModel",
    "checkpoint_keys",
    "describe_config",
    "describe_keys",
    "list_keys",
    "max_seconds_samples",
    "read_config_json",
    "state_dict_of",
]


@dataclass(frozen=True)
class KnownModel:
    """A released checkpoint of a family, with the facts the docs and reports cite.

    Attributes
    ----------
    name : str
        How users write it: a short name or a hub id.
    training_corpora : tuple of str
        Emotion or speech corpora in its training data, as dataset registry
        names (``zsfuse.datasets``: ``"iemocap"``, ``"msp-podcast"``, ...);
        evaluating on one of them is not zero-shot.
    source : str
        Where the training data is documented (paper, section).
    licence : str
        The weights' licence, as published.
    note : str
        Anything else a user should know (one line).
    figures : str
        Published zero-shot emotion figures one can cite (with their source), or "".
    """

    name: str
    training_corpora: tuple = ()
    source: str = ""
    licence: str = ""
    note: str = ""
    figures: str = ""


@dataclass(frozen=True)
class ClapFamily:
    """One audio-language model family.

    Attributes
    ----------
    name : str
        Registry name and prefix (``"clsp"`` forces ``"clsp:<model>"``).
    title : str
        Display name.
    summary : str
        One line for ``list_backends`` and the CLI help.
    load : callable
        ``load(model, path, *, revision, device, dtype, trust_remote_code, options)``
        -> :class:`~zsfuse.backends.ClapBackend`. ``path`` is the located file or
        folder (``locate``'s answer). Not cached here: the registry caches.
    locate : callable, optional
        ``locate(model, *, revision, options) -> path``: find the model's
        file or folder without loading weights (default: a local folder or
        file, or a hub id through the Hugging Face cache).
    check : callable, optional
        ``check(model, path, *, trust_remote_code, options)``: refuse a path of
        the wrong kind (with what it is and what was expected) before any
        weight loads.
    recognise_config : callable, optional
        ``recognise_config(config: dict) -> bool`` for a folder's ``config.json``.
    recognise_checkpoint : callable, optional
        ``recognise_checkpoint(keys: frozenset) -> bool`` for a checkpoint
        file's state-dict keys (see :func:`checkpoint_keys`).
    known_models : tuple of KnownModel
        Released checkpoints, by name.
    options : mapping of str to str
        ``backend_options`` keys the family takes -> one-line doc with default.
    aliases : tuple of str
        Other prefixes that force this family.
    sampling_rate : int
        Audio rate in Hz.
    window : str
        Fixed window or variable length, for the docs table.
    pooling : str
        How a clip becomes one vector.
    audio_repeats : str
        What ``audio_repeats`` does for this family.
    pad_mode : str
        What ``pad_mode`` does for this family.
    needs : str
        Extra install or flag (``zsfuse[msclap]``, ``trust_remote_code=True``).
    """

    name: str
    title: str
    summary: str
    load: Callable
    locate: Callable | None = None
    check: Callable | None = None
    recognise_config: Callable | None = None
    recognise_checkpoint: Callable | None = None
    known_models: tuple = ()
    options: Mapping = field(default_factory=dict)
    aliases: tuple = ()
    sampling_rate: int = 0
    window: str = ""
    pooling: str = ""
    audio_repeats: str = ""
    pad_mode: str = ""
    needs: str = ""

    @property
    def prefixes(self):
        """Every prefix that forces this family."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ResolvedModel:
    """A model string resolved to its family and location.

    Attributes
    ----------
    family : ClapFamily
    model : str
        The model without any family prefix.
    forced : bool
        Whether a prefix chose the family.
    """

    family: ClapFamily
    model: str
    forced: bool = False


def checkpoint_keys(path) -> frozenset:
    """The state-dict keys of a torch checkpoint file, read without running pickled code.

    Wrappers are looked through: a top-level ``"state_dict"`` or ``"model"``
    entry holding a dict of tensors (LAION-CLAP's training code and MS-CLAP
    save those).

    Parameters
    ----------
    path : str or path-like
        A ``.pt`` / ``.pth`` / ``.ckpt`` / ``.bin`` file.

    Returns
    -------
    frozenset of str
    """
    path = os.path.abspath(os.fspath(path))
    stat = os.stat(path)
    memo = (path, stat.st_size, stat.st_mtime_ns)
    if memo not in _KEYS:
        _KEYS[memo] = frozenset(state_dict_of(_load_checkpoint(path)))
    return _KEYS[memo]


_KEYS: dict = {}


def _load_checkpoint(path):
    from ..models import load_torch_checkpoint

    return load_torch_checkpoint(path, what="audio-language checkpoint")


def state_dict_of(obj) -> dict:
    """The tensor dict inside a loaded checkpoint (``state_dict`` or ``model`` entry, or itself)."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                return dict(inner)
        return dict(obj)
    return {}


def read_config_json(path):
    """A folder's ``config.json`` as a dict (empty when absent or unreadable). Plain JSON, no code."""
    import json

    try:
        with open(os.path.join(os.fspath(path), "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def describe_config(config):
    if not config:
        return "no config.json"
    parts = []
    if isinstance(config.get("model_type"), str):
        parts.append(f"model_type {config['model_type']!r}")
    if isinstance(config.get("auto_map"), Mapping):
        parts.append(f"auto_map {dict(config['auto_map'])}")
    if isinstance(config.get("architectures"), list):
        parts.append(f"architectures {config['architectures']}")
    return "a config.json with " + (", ".join(parts) if parts else "no model_type, auto_map or architectures")


def list_keys(keys, n=8) -> str:
    """Up to ``n`` of ``keys``, sorted, for a message: ``"['a', 'b'] and 3 more"``."""
    keys = sorted(keys)
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return f"{keys[:n]}{more}"


def describe_keys(keys, n=6) -> str:
    """What a checkpoint holds, for a message: ``"12 weights, e.g. ['a', 'b'] and 6 more"``."""
    return f"{len(keys)} weights, e.g. {list_keys(keys, n)}"


def max_seconds_samples(options, sampling_rate) -> int:
    """``backend_options["max_seconds"]`` (default :data:`DEFAULT_MAX_SECONDS`) in samples, checked.

    A variable-length model's ``window_samples``: its longest segment.

    Raises
    ------
    ValueError
        For anything but a positive, finite number of at least one sample.
    """
    value = dict(options or {}).get("max_seconds", DEFAULT_MAX_SECONDS)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"backend_options['max_seconds'] must be a positive number of seconds, got {value!r}.")
    samples = int(round(float(value) * sampling_rate))
    if samples < 1:
        raise ValueError(
            f"backend_options['max_seconds']={value!r} is shorter than one sample at {sampling_rate / 1000:g} kHz."
        )
    return samples
