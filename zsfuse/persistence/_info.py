"""What :func:`zsfuse.inspect` returns, and the names and rules shared by the persistence modules."""

from __future__ import annotations

import dataclasses

from .._json import jsonable

__all__ = ["AUDIO_STEP_TYPES", "TRUSTED_TYPES", "AudioStepInfo", "SavedFileInfo"]

#: The types zsfuse itself adds to a skops file, as ``skops.io.get_untrusted_types``
#: names them (``module.QualifiedName`` from the class's ``__module__``: the module that
#: defines it -- for the FM transformer the private ``zsfuse.fm._transformer`` -- except
#: ``LateFusionClassifier``, defined in ``zsfuse.fusion._classifier`` but kept at
#: ``zsfuse.fusion`` so that files of every version name it alike): the classifier, its two
#: torch heads (kept at ``zsfuse.fusion`` too; their fitted state is numpy arrays and numbers
#: only) and the two audio transformers. A dumped zsfuse pipeline lists only these (or a
#: subset); every other type in it is a scikit-learn, numpy or Python builtin type that skops
#: trusts by default.
TRUSTED_TYPES = (
    "zsfuse.fm._transformer.FMEmbeddingTransformer",
    "zsfuse.fusion.EmoBoxHead",
    "zsfuse.fusion.LateFusionClassifier",
    "zsfuse.fusion.SuperbHead",
    "zsfuse.zeroshot.CLAPZeroShotTransformer",
)

#: The zsfuse estimators that load models (on first use, never at load time):
#: :func:`inspect` reports each of them as an :class:`AudioStepInfo`.
AUDIO_STEP_TYPES = (
    "zsfuse.fm._transformer.FMEmbeddingTransformer",
    "zsfuse.zeroshot.CLAPZeroShotTransformer",
)

#: The parameters :func:`inspect` reports for each audio step, in order.
STEP_FIELDS = (
    "model",
    "revision",
    "version",
    "text_model",
    "backend_options",
    "trust_remote_code",
    "device",
    "cache_dir",
)
#: ``backend_options`` keys whose values name a model folder, file or hub id (reported by ``models``).
MODEL_OPTIONS = ("text_model", "tokenizer", "audio_model")
#: What a refused or unreadable file's message tells the user to do.
REFUSED_FIX = "Check the path, or re-save the pipeline with zsfuse.save(pipe, path) where it was made."
#: How a caller opts in to a file that sets ``trust_remote_code`` (named in every message about it).
OPT_IN = "zsfuse.load(path, trust_remote_code=True), or zsfuse predict --trust-remote-code"
#: The largest numpy value (in bytes) :func:`inspect` reads back from a file: scalars and small arrays.
MAX_ARRAY_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class AudioStepInfo:
    """One zsfuse audio step of a saved file, as :func:`inspect` reads it.

    The model ids/paths are what the step loads -- or downloads from the
    Hugging Face hub, when ``HF_HUB_OFFLINE`` is not set -- on first use
    (``fit``, ``transform``, ``predict``), never at load time. A value the
    file stores in a form :func:`inspect` does not decode is shown as
    ``<module.Type>``.

    Parameters
    ----------
    path : str
        Where the step sits, as scikit-learn names nested parameters:
        ``"features__zs"`` in a pipeline made by
        :func:`~zsfuse.make_zsfuse_pipeline`, ``"estimator__features__zs"``
        inside a ``GridSearchCV``; ``""`` when the file holds the step alone.
    cls : str
        Its type, ``module.QualifiedName``.
    model : object
        Hub id, local folder or checkpoint file of the model.
    revision : object
        Hub revision (branch, tag or commit) of ``model``.
    version : object
        MS-CLAP version (zero-shot transformer only).
    text_model : object
        MS-CLAP text tower id/folder (zero-shot transformer only).
    backend_options : object
        Options of the audio-language model's family (zero-shot transformer
        only); some name further models (a tokenizer, a text or audio tower).
    trust_remote_code : object
        Whether the model may run Python code it ships; anything but False or
        None makes :func:`load` refuse the file unless the caller opts in.
    device : object
        Device the models run on.
    cache_dir : object
        Folder of the on-disk embedding store, read and written at first use.
    fitted : bool
        Whether the file holds fitted attributes of the step.
    """

    path: str
    cls: str
    model: object = None
    revision: object = None
    version: object = None
    text_model: object = None
    backend_options: object = None
    trust_remote_code: object = None
    device: object = None
    cache_dir: object = None
    fitted: bool = False

    @property
    def grants_remote_code(self) -> bool:
        """Whether ``trust_remote_code`` is anything but False/None."""
        return grants_code(self.trust_remote_code)

    def to_dict(self) -> dict:
        """The fields as a JSON-serialisable dict.

        Returns
        -------
        dict
            Field name -> value; values not decoded are given as ``"<module.Type>"``.
        """
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True)
class SavedFileInfo:
    """What a skops file holds and what loading it would do, read by :func:`inspect`.

    Nothing is built and no model is loaded to obtain it: it is read from the
    file's ``schema.json``, the way skops reads it.

    Parameters
    ----------
    path : str
        The file.
    root : str
        Type of the saved object (e.g. ``"sklearn.pipeline.Pipeline"``).
    protocol : int
        skops protocol of the file.
    skops_version : str or None
        skops version that wrote it, as the file says.
    types : tuple of str
        Every type the file builds (``module.QualifiedName``), builtins left out.
    untrusted_types : tuple of str
        The types skops does not trust by default (``skops.io.get_untrusted_types``).
    foreign_types : tuple of str
        Those of ``untrusted_types`` that are not in :data:`TRUSTED_TYPES`:
        :func:`load` refuses the file unless they are passed as ``trusted=``.
    steps : tuple of AudioStepInfo
        Every zsfuse audio step (and any other estimator with a
        ``trust_remote_code`` attribute), in file order.
    notes : tuple of str
        Other things worth knowing before using the file, e.g. a scikit-learn
        ``memory=`` folder (a joblib cache, read with pickle when the pipeline
        is fitted again).
    """

    path: str
    root: str
    protocol: int
    skops_version: object
    types: tuple
    untrusted_types: tuple
    foreign_types: tuple
    steps: tuple
    notes: tuple = ()

    @property
    def models(self) -> tuple:
        """Distinct model ids/paths of the steps (``model``, ``text_model``, models named in ``backend_options``)."""
        seen = []
        for step in self.steps:
            options = step.backend_options if isinstance(step.backend_options, dict) else {}
            for value in (step.model, step.text_model, *(options.get(k) for k in MODEL_OPTIONS)):
                if value is not None and value not in seen:
                    seen.append(value)
        return tuple(seen)

    @property
    def refusals(self) -> tuple:
        """Why ``zsfuse.load(path)`` (no ``trusted=``, no opt-in) refuses the file; empty when it loads it."""
        out = []
        if self.foreign_types:
            out.append(
                f"types zsfuse does not trust: {list(self.foreign_types)} (if you trust them: "
                f"zsfuse.load(path, trusted={list(self.foreign_types)!r}))"
            )
        for step in self.steps:
            if step.grants_remote_code:
                out.append(
                    f"{describe_step(step.path, step.cls)} sets "
                    f"trust_remote_code={step.trust_remote_code!r} "
                    f"for model {step.model!r} (opt in: {OPT_IN})"
                )
        return tuple(out)

    def to_dict(self) -> dict:
        """The information as a JSON-serialisable dict.

        Returns
        -------
        dict
            The fields (``steps`` as a list of dicts) plus ``models`` and ``refusals``.
        """
        out = {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "steps"}
        out["steps"] = [step.to_dict() for step in self.steps]
        out["models"] = jsonable(self.models)
        out["refusals"] = list(self.refusals)
        return out

    def __str__(self) -> str:
        written = f", written by skops {self.skops_version}" if self.skops_version else ""
        lines = [self.path, f"  holds a {self.root} (skops protocol {self.protocol}{written})"]
        if self.untrusted_types:
            own = (
                "all zsfuse's own: zsfuse.TRUSTED_TYPES"
                if not self.foreign_types
                else f"not trusted by zsfuse: {', '.join(self.foreign_types)}"
            )
            lines.append(f"  types beyond skops' defaults: {', '.join(self.untrusted_types)} ({own})")
        else:
            lines.append("  types: only skops' defaults (scikit-learn, numpy, builtins)")
        if self.steps:
            lines.append(
                "  audio steps -- their models load at first use (downloaded from the Hugging Face "
                "hub when not offline), not at load time:"
            )
            for step in self.steps:
                lines.append(
                    f"    {step.path or '(the saved object)'}: {step.cls}"
                    f"{', fitted' if step.fitted else ', not fitted'}"
                )
                for name in STEP_FIELDS:
                    value = getattr(step, name)
                    if value is None and name in ("version", "text_model", "backend_options"):
                        continue
                    lines.append(f"      {name:<18} {show_value(value)}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.refusals:
            lines.append("  zsfuse.load refuses it:")
            lines += [f"    - {reason}" for reason in self.refusals]
        else:
            lines.append("  zsfuse.load loads it (no model is loaded until first use).")
        return "\n".join(lines)


def grants_code(value) -> bool:
    """Whether a ``trust_remote_code`` value lets code run: anything but False or None (or numpy False).

    Parameters
    ----------
    value : object
        A ``trust_remote_code`` value, as set on an estimator or decoded from a file.

    Returns
    -------
    bool
    """
    if value is None or value is False:
        return False
    if type(value).__name__ == "bool_" and type(value).__module__ == "numpy":
        return bool(value)
    return True


def join_path(path):
    """A step's place as scikit-learn names nested parameters.

    Parameters
    ----------
    path : sequence of str
        Step and attribute names from the saved object down, e.g. ``("features", "zs")``.

    Returns
    -------
    str
        E.g. ``"features__zs"``; ``""`` for the saved object itself.
    """
    return "__".join(path)


def describe_step(path, cls):
    """How a message names a step: ``"step features__zs (CLAPZeroShotTransformer)"``.

    Parameters
    ----------
    path : str
        The step's place (see :func:`join_path`); empty for the saved object itself.
    cls : str or type
        Its type; only the last dotted part is shown.

    Returns
    -------
    str
    """
    short = str(cls).rsplit(".", 1)[-1]
    return f"step {path} ({short})" if path else f"the saved {short}"


def show_value(value):
    """How :func:`inspect` shows a parameter's value in its report (its ``repr``).

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    return repr(value)
