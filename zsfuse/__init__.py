"""zsfuse: zero-shot audio-language scores late-fused with speech foundation
models, for speech emotion recognition, in scikit-learn.

Importing zsfuse is cheap and side-effect free: it imports neither torch nor
msclap, loads no model and touches no network. Submodules load on first use.
"""

from __future__ import annotations

import importlib

from ._version import __version__

# public name -> module that defines it; imported on first attribute access
_LAZY = {
    "CLAPZeroShotTransformer": "zsfuse.zeroshot",
    "FMEmbeddingTransformer": "zsfuse.fm",
    "LateFusionClassifier": "zsfuse.fusion",
    "EmoBoxHead": "zsfuse.fusion",
    "SuperbHead": "zsfuse.fusion",
    "make_zsfuse_pipeline": "zsfuse.pipeline",
    "list_backends": "zsfuse.backends",
    "save": "zsfuse.persistence",
    "load": "zsfuse.persistence",
    "inspect": "zsfuse.persistence",
    "TRUSTED_TYPES": "zsfuse.persistence",
    "UntrustedTypesError": "zsfuse.exceptions",
    "FusionWarning": "zsfuse.exceptions",
    "UnsupportedModelError": "zsfuse.exceptions",
    "DatasetError": "zsfuse.exceptions",
    "EvaluationError": "zsfuse.exceptions",
    "Clips": "zsfuse.audio",
    "EmbeddingStore": "zsfuse.store",
    "get_store": "zsfuse.store",
    "CacheError": "zsfuse.exceptions",
    "ClipError": "zsfuse.exceptions",
    "ClipNotFoundError": "zsfuse.exceptions",
    "ClipWarning": "zsfuse.exceptions",
    "MissingDependencyError": "zsfuse.exceptions",
    "ModelKindError": "zsfuse.exceptions",
    "ModelNotFoundError": "zsfuse.exceptions",
    "RemoteCodeError": "zsfuse.exceptions",
    "TrainingDataWarning": "zsfuse.exceptions",
    "UnreadableFileError": "zsfuse.exceptions",
    "ZsfuseError": "zsfuse.exceptions",
}
_SUBMODULES = {
    "audio",
    "cli",
    "datasets",
    "evaluation",
    "exceptions",
    "extraction",
    "fm",
    "fusion",
    "models",
    "persistence",
    "pipeline",
    "prompts",
    "store",
    "testing",
    "zeroshot",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"zsfuse.{name}")
    raise AttributeError(f"module 'zsfuse' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
