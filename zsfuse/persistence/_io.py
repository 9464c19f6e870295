"""Saving, inspecting and loading fitted zsfuse estimators and pipelines with skops.

skops stores an estimator's parameters and fitted attributes without pickle,
and at load time refuses to build any type that is not trusted. scikit-learn's
and numpy's own types are trusted by skops already; :data:`TRUSTED_TYPES` adds
zsfuse's three estimators -- and nothing else. :func:`load` refuses a file
that holds any other untrusted type and names it: such a file did not come
from a plain zsfuse pipeline, and building an unknown type can run code.

A file made only of trusted types still chooses parameters, and one of them,
``trust_remote_code``, would let a model run Python code it ships. A file
never grants that: :func:`load` refuses a file in which any estimator has a
``trust_remote_code`` other than False/None -- checked in the file's schema
before anything is built, and again on the built objects -- unless the caller
opts in with ``load(path, trust_remote_code=True)``. :func:`inspect` shows
what a file holds (its types, and the model ids/paths, devices and cache
folders of its audio steps) without building anything or loading any model.

No zsfuse estimator holds model weights: a saved pipeline is small (its
parameters, the prompts' text embeddings and the head's coefficients) and
reloads its models lazily, on first use, from the model id + revision or local
path it was configured with. Plain ``pickle`` and ``joblib`` work too, for
files you made yourself. ``docs/persistence.md`` has the security note.

Examples
--------
>>> import zsfuse
>>> zsfuse.save(search.best_estimator_, "zsfuse.skops")      # doctest: +SKIP
>>> print(zsfuse.inspect("zsfuse.skops"))                    # doctest: +SKIP
>>> pipe = zsfuse.load("zsfuse.skops")                       # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings

from ..exceptions import UntrustedTypesError, ZsfuseError, one_line
from ._info import (
    AUDIO_STEP_TYPES,
    OPT_IN,
    TRUSTED_TYPES,
    SavedFileInfo,
    describe_step,
    join_path,
    show_value,
)
from ._objects import (
    drop_pipeline_memory,
    plain_feature_names,
    remote_code_error,
    remote_code_in_object,
    remote_code_in_schema,
)
from ._schema import SchemaScan, node_type_name, unreadable_error

__all__ = ["UntrustedTypesError", "inspect", "load", "save"]


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
        :data:`TRUSTED_TYPES` (:func:`load` will refuse it unless they are
        passed as ``trusted=``), or an estimator whose ``trust_remote_code``
        is set (:func:`load` will refuse it unless the caller opts in).

    Notes
    -----
    A ``FeatureUnion`` with pandas output keeps the column names of its
    parts as pandas ``Index`` objects, which skops cannot store; they are
    written as numpy arrays (the estimator itself is left unchanged).
    """
    import skops.io as sio

    path = os.fspath(path)
    with plain_feature_names(estimator):
        sio.dump(estimator, path)
    foreign = _foreign(sio.get_untrusted_types(file=path), ())
    if foreign:
        warnings.warn(
            f"{path!r} holds types that zsfuse.load refuses by default: {foreign}. Load it with "
            f"zsfuse.load(path, trusted={foreign!r}).",
            UserWarning,
            stacklevel=2,
        )
    granted, _ = remote_code_in_object(estimator)
    if granted:
        where = "; ".join(f"{describe_step(p, c)}: trust_remote_code={v!r}" for p, c, _, v in granted)
        warnings.warn(
            f"{path!r} lets a model run code it ships ({where}): zsfuse.load refuses it unless the "
            f"caller opts in with {OPT_IN}.",
            UserWarning,
            stacklevel=2,
        )
    return path


def inspect(path):
    """Describe what a skops file holds and what loading it would do -- without loading it.

    Nothing is built and no model is loaded or downloaded: the file's
    ``schema.json`` is read the way skops reads it. Use it on files from
    others before :func:`load` (``zsfuse predict MODEL.skops --show`` prints
    the same).

    Parameters
    ----------
    path : str or path-like
        A skops file.

    Returns
    -------
    SavedFileInfo
        The saved object's type, the types in the file (and which of them
        :func:`load` would refuse), and for each zsfuse audio step its path in
        the pipeline, class, ``model``, ``revision``, ``version``,
        ``text_model``, ``trust_remote_code``, ``device`` and ``cache_dir``.
        ``str()`` of it is a readable report; ``.to_dict()`` a JSON-able one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnreadableFileError
        If it is not a skops file this skops can read (a directory, an empty,
        truncated or non-zip file, no ``schema.json``, a newer protocol).

    Examples
    --------
    >>> info = zsfuse.inspect("zsfuse.skops")  # doctest: +SKIP
    >>> [(s.path, s.model) for s in info.steps]  # doctest: +SKIP
    [('features__zs', 'msclap-2023'), ('features__fm', 'microsoft/wavlm-large')]
    """
    import skops.io as sio

    path = os.fspath(path)
    scan = SchemaScan.read(path)
    untrusted = tuple(sorted(_skops_call(path, sio.get_untrusted_types, file=path)))
    steps, notes = [], []
    for obj_path, node in scan.objects:
        attrs = scan.attrs(node)
        type_name = node_type_name(node)
        if type_name in AUDIO_STEP_TYPES or (attrs is not None and "trust_remote_code" in attrs):
            steps.append(scan.step_info(obj_path, node))
        if attrs is not None and "memory" in attrs and type_name.startswith("sklearn."):
            memory = scan.decode(attrs["memory"])
            if memory is not None:
                notes.append(
                    f"{describe_step(join_path(obj_path), type_name)} has "
                    f"memory={show_value(memory)}: scikit-learn "
                    "caches fitted steps there with joblib, and reads them back with pickle when it "
                    "is fitted again -- refit it only if you trust that folder."
                )
    return SavedFileInfo(
        path=path,
        root=node_type_name(scan.root),
        protocol=scan.protocol,
        skops_version=scan.skops_version,
        types=tuple(sorted(t for t in scan.types if not t.startswith("builtins."))),
        untrusted_types=untrusted,
        foreign_types=tuple(_foreign(untrusted, ())),
        steps=tuple(steps),
        notes=tuple(notes),
    )


def load(path, trusted=None, trust_remote_code=False):
    """Load an estimator saved by :func:`save` (or ``skops.io.dump``).

    Only skops' default types and :data:`TRUSTED_TYPES` are built; a file
    that holds any other type is refused before anything is built. A file in
    which any estimator sets ``trust_remote_code`` (to anything but False or
    None) is refused too -- it would let a model run Python code it ships --
    unless the caller opts in. That is checked twice: in the file's schema
    before anything is built, and on every object reachable from the built
    one before it is returned. No model is loaded here.

    Parameters
    ----------
    path : str or path-like
        A skops file.
    trusted : sequence of str, optional
        More type names to accept (``module.QualifiedName``, as
        ``skops.io.get_untrusted_types`` lists them) -- for a pipeline with a
        step of your own. ``True`` ("trust everything") is not accepted.
    trust_remote_code : bool, default=False
        Accept a file whose estimators set ``trust_remote_code``: their models
        may then run code they ship, at first use. Only for files and models
        you trust; see what a file asks for with :func:`inspect` first.

    Returns
    -------
    object
        The estimator. zsfuse models reload from their id/path on first use.
        Without the opt-in, a ``trust_remote_code=None`` (which would make
        transformers ask on the terminal) is set to False.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnreadableFileError
        If it is not a skops file this skops can read (a directory, an empty,
        truncated or non-zip file, no ``schema.json``, a newer protocol, a
        schema skops cannot build); the message names the file.
    UntrustedTypesError
        When the file holds a type that is neither a skops default, nor in
        :data:`TRUSTED_TYPES`, nor in ``trusted``; the message names it.
    RemoteCodeError
        When an estimator in the file sets ``trust_remote_code`` and
        ``trust_remote_code=True`` was not passed; the message names the
        file, the step and its model, and how to opt in.
    TypeError
        When ``trusted`` is not a sequence of strings, or
        ``trust_remote_code`` is not True or False.
    """
    import skops.io as sio

    if trusted is None:
        extra = ()
    elif isinstance(trusted, (str, bytes)) or isinstance(trusted, bool) or not all(isinstance(t, str) for t in trusted):
        raise TypeError(
            f"trusted must be a sequence of type names (str), got {trusted!r}; zsfuse never loads with trusted=True."
        )
    else:
        extra = tuple(trusted)
    if not isinstance(trust_remote_code, bool):
        raise TypeError(f"trust_remote_code must be True or False, got {trust_remote_code!r}.")
    path = os.fspath(path)
    scan = SchemaScan.read(path)
    untrusted = _skops_call(path, sio.get_untrusted_types, file=path)
    foreign = _foreign(untrusted, extra)
    if foreign:
        raise UntrustedTypesError(path, foreign)
    if not trust_remote_code:
        granted = remote_code_in_schema(scan)
        if granted:
            raise remote_code_error(path, granted)
    estimator = _skops_call(path, sio.load, path, trusted=list(untrusted))
    # authoritative: what was built, whatever the schema said
    granted, unset = remote_code_in_object(estimator)
    if not trust_remote_code:
        if granted:
            raise remote_code_error(path, granted)
        for obj in unset:  # None lets transformers ask on the terminal: a file never gets to ask
            obj.trust_remote_code = False
    drop_pipeline_memory(path, estimator)
    return estimator


def _skops_call(path, function, *args, **kwargs):
    """Call skops on a file; what skops cannot read becomes an UnreadableFileError naming the file."""
    try:
        return function(*args, **kwargs)
    except (ZsfuseError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 -- a malformed file can fail skops in many ways
        problem = f"could not be read by skops ({type(exc).__name__}: {one_line(exc)})"
        raise unreadable_error(path, problem) from exc


def _foreign(untrusted, extra):
    allowed = set(TRUSTED_TYPES) | set(extra)
    return sorted(t for t in untrusted if t not in allowed)
