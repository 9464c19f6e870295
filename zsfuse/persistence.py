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

import contextlib
import dataclasses
import io
import json
import os
import struct
import warnings
import zipfile
import zlib

from .exceptions import RemoteCodeError, UnreadableFileError, ZsfuseError

__all__ = [
    "AUDIO_STEP_TYPES",
    "TRUSTED_TYPES",
    "AudioStepInfo",
    "SavedFileInfo",
    "UntrustedTypesError",
    "inspect",
    "load",
    "save",
]

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

#: The zsfuse estimators that load models (on first use, never at load time):
#: :func:`inspect` reports each of them as an :class:`AudioStepInfo`.
AUDIO_STEP_TYPES = (
    "zsfuse.fm._transformer.FMEmbeddingTransformer",
    "zsfuse.zeroshot.CLAPZeroShotTransformer",
)

# the parameters inspect reports for each audio step
_STEP_FIELDS = ("model", "revision", "version", "text_model", "trust_remote_code", "device", "cache_dir")
# keys of a skops node that hold no child node
_META_KEYS = {"__class__", "__module__", "__loader__", "__id__", "is_json", "type", "file", "protocol",
              "_skops_version"}
_REFUSED_FIX = "Check the path, or re-save the pipeline with zsfuse.save(pipe, path) where it was made."
_OPT_IN = "zsfuse.load(path, trust_remote_code=True), or zsfuse predict --trust-remote-code"
_MAX_ARRAY_BYTES = 1 << 20  # numpy values inspect reads back from a file (scalars and small arrays)


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


# -- what inspect returns --------------------------------------------------------------------------------


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
    trust_remote_code: object = None
    device: object = None
    cache_dir: object = None
    fitted: bool = False

    @property
    def grants_remote_code(self) -> bool:
        """Whether ``trust_remote_code`` is anything but False/None."""
        return _grants(self.trust_remote_code)

    def to_dict(self) -> dict:
        """The fields as a JSON-serialisable dict.

        Returns
        -------
        dict
            Field name -> value; values not decoded are given as ``"<module.Type>"``.
        """
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


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
        """Distinct model ids/paths of the steps (``model`` and ``text_model``), in order."""
        seen = []
        for step in self.steps:
            for value in (step.model, step.text_model):
                if value is not None and value not in seen:
                    seen.append(value)
        return tuple(seen)

    @property
    def refusals(self) -> tuple:
        """Why ``zsfuse.load(path)`` (no ``trusted=``, no opt-in) refuses the file; empty when it loads it."""
        out = []
        if self.foreign_types:
            out.append(f"types zsfuse does not trust: {list(self.foreign_types)} (if you trust them: "
                       f"zsfuse.load(path, trusted={list(self.foreign_types)!r}))")
        for step in self.steps:
            if step.grants_remote_code:
                out.append(f"{_where(step.path, step.cls)} sets trust_remote_code={step.trust_remote_code!r} "
                           f"for model {step.model!r} (opt in: {_OPT_IN})")
        return tuple(out)

    def to_dict(self) -> dict:
        """The information as a JSON-serialisable dict.

        Returns
        -------
        dict
            The fields (``steps`` as a list of dicts) plus ``models`` and ``refusals``.
        """
        out = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
               if f.name != "steps"}
        out["steps"] = [step.to_dict() for step in self.steps]
        out["models"] = _jsonable(self.models)
        out["refusals"] = list(self.refusals)
        return out

    def __str__(self) -> str:
        written = f", written by skops {self.skops_version}" if self.skops_version else ""
        lines = [self.path, f"  holds a {self.root} (skops protocol {self.protocol}{written})"]
        if self.untrusted_types:
            own = "all zsfuse's own: zsfuse.TRUSTED_TYPES" if not self.foreign_types else \
                f"not trusted by zsfuse: {', '.join(self.foreign_types)}"
            lines.append(f"  types beyond skops' defaults: {', '.join(self.untrusted_types)} ({own})")
        else:
            lines.append("  types: only skops' defaults (scikit-learn, numpy, builtins)")
        if self.steps:
            lines.append("  audio steps -- their models load at first use (downloaded from the Hugging Face "
                         "hub when not offline), not at load time:")
            for step in self.steps:
                lines.append(f"    {step.path or '(the saved object)'}: {step.cls}"
                             f"{', fitted' if step.fitted else ', not fitted'}")
                for name in _STEP_FIELDS:
                    value = getattr(step, name)
                    if value is None and name in ("version", "text_model"):
                        continue
                    lines.append(f"      {name:<18} {_show(value)}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.refusals:
            lines.append("  zsfuse.load refuses it:")
            lines += [f"    - {reason}" for reason in self.refusals]
        else:
            lines.append("  zsfuse.load loads it (no model is loaded until first use).")
        return "\n".join(lines)


# -- save / inspect / load ---------------------------------------------------------------------------------


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
    with _plain_feature_names(estimator):
        sio.dump(estimator, path)
    foreign = _foreign(sio.get_untrusted_types(file=path), ())
    if foreign:
        warnings.warn(
            f"{path!r} holds types that zsfuse.load refuses by default: {foreign}. Load it with "
            f"zsfuse.load(path, trusted={foreign!r}).",
            UserWarning,
            stacklevel=2,
        )
    granted, _ = _remote_code_in_object(estimator)
    if granted:
        where = "; ".join(f"{_where(p, c)}: trust_remote_code={v!r}" for p, c, _, v in granted)
        warnings.warn(
            f"{path!r} lets a model run code it ships ({where}): zsfuse.load refuses it unless the "
            f"caller opts in with {_OPT_IN}.",
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
    scan = _Scan.read(path)
    untrusted = tuple(sorted(_skops_call(path, sio.get_untrusted_types, file=path)))
    steps, notes = [], []
    for obj_path, node in scan.objects:
        attrs = scan.attrs(node)
        type_name = _type_name(node)
        if type_name in AUDIO_STEP_TYPES or (attrs is not None and "trust_remote_code" in attrs):
            steps.append(scan.step_info(obj_path, node))
        if attrs is not None and "memory" in attrs and type_name.startswith("sklearn."):
            memory = scan.decode(attrs["memory"])
            if memory is not None:
                notes.append(f"{_where(_joined(obj_path), type_name)} has memory={_show(memory)}: scikit-learn "
                             "caches fitted steps there with joblib, and reads them back with pickle when it "
                             "is fitted again -- refit it only if you trust that folder.")
    return SavedFileInfo(
        path=path, root=_type_name(scan.root), protocol=scan.protocol, skops_version=scan.skops_version,
        types=tuple(sorted(t for t in scan.types if not t.startswith("builtins."))),
        untrusted_types=untrusted, foreign_types=tuple(_foreign(untrusted, ())),
        steps=tuple(steps), notes=tuple(notes),
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
    elif isinstance(trusted, (str, bytes)) or isinstance(trusted, bool) or not all(
        isinstance(t, str) for t in trusted
    ):
        raise TypeError(
            f"trusted must be a sequence of type names (str), got {trusted!r}; "
            "zsfuse never loads with trusted=True."
        )
    else:
        extra = tuple(trusted)
    if not isinstance(trust_remote_code, bool):
        raise TypeError(f"trust_remote_code must be True or False, got {trust_remote_code!r}.")
    path = os.fspath(path)
    scan = _Scan.read(path)
    untrusted = _skops_call(path, sio.get_untrusted_types, file=path)
    foreign = _foreign(untrusted, extra)
    if foreign:
        raise UntrustedTypesError(path, foreign)
    if not trust_remote_code:
        granted = _remote_code_in_schema(scan)
        if granted:
            raise _remote_code_error(path, granted)
    estimator = _skops_call(path, sio.load, path, trusted=list(untrusted))
    # authoritative: what was built, whatever the schema said
    granted, unset = _remote_code_in_object(estimator)
    if not trust_remote_code:
        if granted:
            raise _remote_code_error(path, granted)
        for obj in unset:  # None lets transformers ask on the terminal: a file never gets to ask
            obj.trust_remote_code = False
    _drop_pipeline_memory(path, estimator)
    return estimator


def _drop_pipeline_memory(path, root):
    """Reset any scikit-learn ``memory=`` folder a file sets (joblib reads it back with pickle on refit).

    A cache folder only saves time, so dropping it changes no answer; the
    warning says how to set it again.
    """
    from sklearn.pipeline import Pipeline

    seen, stack, dropped = set(), [(root, ())], []
    while stack:
        obj, where = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, complex, bool)) or obj is None:
            continue
        seen.add(id(obj))
        if isinstance(obj, Pipeline) and obj.memory is not None:
            dropped.append((_joined(where) or "the loaded pipeline", obj.memory))
            obj.memory = None
        stack.extend(_children_of(obj, where))
    if dropped:
        listed = "; ".join(f"{w}: memory={m!r}" for w, m in dropped)
        warnings.warn(
            f"{path!r} set a Pipeline cache folder ({listed}); joblib reads such a folder back with pickle "
            "when the pipeline is fitted again, so a loaded file does not get to choose it: it was reset to "
            "None. Set it again after loading if you trust that folder (pipe.set_params(memory=...)).",
            UserWarning,
            stacklevel=3,
        )


# -- reading a file's schema without building it -------------------------------------------------------------


class _Opaque:
    """A value inspect does not decode (shown as ``<module.Type>``)."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"

    def __eq__(self, other):
        return isinstance(other, _Opaque) and other.what == self.what

    def __hash__(self):
        return hash(self.what)


def _unreadable(path, problem, fix=_REFUSED_FIX):
    return UnreadableFileError(f"{path!r} {problem}, so it cannot be loaded. {fix}")


def _skops_protocol():
    try:
        from skops.io._protocol import PROTOCOL
    except ImportError:  # pragma: no cover -- a skops without it: skops itself decides
        return None
    return PROTOCOL


class _Scan:
    """The nodes of a skops schema, walked in the order skops builds them.

    skops builds one object per ``__id__``: a node whose id was seen before
    (or a ``CachedNode``) stands for that earlier node, whatever it holds.
    """

    def __init__(self, path, schema):
        self.path = path
        self.root = schema
        self.protocol = schema["protocol"]
        self.skops_version = schema.get("_skops_version")
        self.memo = {}  # __id__ -> the node skops builds for it
        self.types = set()
        self.objects = []  # (path tuple, node) of every ObjectNode occurrence, in build order
        self._walk()

    # reading -----------------------------------------------------------------------------------------
    @classmethod
    def read(cls, path):
        if os.path.isdir(path):
            raise UnreadableFileError(
                f"{path!r} is a directory, not a .skops file, so it cannot be loaded. Check the path: "
                "give the file written by zsfuse.save(pipe, path)."
            )
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path!r} does not exist: check the path (a .skops file written by zsfuse.save(pipe, path))."
            )
        if os.path.getsize(path) == 0:
            raise _unreadable(path, "is empty (0 bytes)")
        try:
            with zipfile.ZipFile(path) as z:
                if "schema.json" not in z.namelist():
                    raise _unreadable(path, "is a zip archive without schema.json, not a skops file")
                raw = z.read("schema.json")
        except (PermissionError, IsADirectoryError):
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                struct.error, OSError) as exc:
            with open(path, "rb") as f:
                head = f.read(4)
            problem = ("is a damaged or truncated zip archive" if head == b"PK\x03\x04"
                       else "is not a zip archive (which a .skops file is)")
            raise _unreadable(path, f"{problem} ({type(exc).__name__}: {_one_line(exc)})") from exc
        try:
            schema = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise _unreadable(path, f"has a schema.json that is not valid JSON ({_one_line(exc)})") from exc
        if not isinstance(schema, dict) or not isinstance(schema.get("__loader__"), str):
            raise _unreadable(path, "has a schema.json that is not a skops schema")
        protocol = schema.get("protocol")
        if isinstance(protocol, bool) or not isinstance(protocol, int) or protocol < 0:
            raise _unreadable(path, f"has no valid skops protocol in its schema.json (got {protocol!r}), "
                                    "so it was not written by skops")
        newest = _skops_protocol()
        if newest is not None and protocol > newest:
            import skops

            raise _unreadable(
                path, f"was written with skops protocol {protocol}, newer than this skops "
                      f"({skops.__version__}) reads (up to protocol {newest})",
                "Update skops (pip install -U skops), or re-save the pipeline with zsfuse.save(pipe, path) "
                "with the skops installed here.",
            )
        try:
            return cls(path, schema)
        except RecursionError as exc:  # pragma: no cover -- the walk is iterative; decoding nests
            raise _unreadable(path, "has a schema.json nested too deeply") from exc

    def _walk(self):
        # (node, path, named): ``named`` marks a (name, estimator, ...) tuple whose items take its path
        stack = [(self.root, (), False)]
        while stack:
            node, path, named = stack.pop()
            if not _is_node(node):
                raise _unreadable(self.path, "has a schema.json with a malformed node")
            loader, saved_id = node["__loader__"], node.get("__id__")
            try:
                hash(saved_id)
            except TypeError:
                raise _unreadable(self.path, f"has a schema.json with a malformed object id {saved_id!r}") from None
            if loader == "CachedNode":
                if saved_id not in self.memo:
                    raise _unreadable(self.path, "refers to an object it does not define (CachedNode)")
                node = self.memo[saved_id]
                if node.get("__loader__") == "ObjectNode":
                    self.objects.append((path, node))
                continue
            if saved_id in self.memo and self.memo[saved_id] is not node:
                # skops builds the earlier node here (and never reads this one)
                earlier = self.memo[saved_id]
                if earlier.get("__loader__") == "ObjectNode":
                    self.objects.append((path, earlier))
                continue
            if saved_id:
                self.memo[saved_id] = node
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                self.types.add(_type_name(node))
            if loader == "ObjectNode":
                self.objects.append((path, node))
            children = list(self._children(node, path, named))
            stack.extend(reversed(children))

    def _children(self, node, path, named):
        loader = node["__loader__"]
        content = node.get("content")
        if loader == "DictNode":
            if _is_node(node.get("key_types")):
                yield node["key_types"], path, False
            if isinstance(content, dict):
                for key, value in content.items():
                    yield value, path + (str(key),), False
        elif loader in ("ListNode", "TupleNode", "SetNode") and isinstance(content, list):
            for i, item in enumerate(content):
                if named:
                    yield item, path, False
                elif _is_named_step(item):
                    step = json.loads(item["content"][0]["content"])
                    yield item, path[:-1] + (step,), True
                else:
                    yield item, path + (str(i),), False
        elif loader == "ObjectNode":
            if content is not None:
                yield content, path, False
        else:  # any other node: its child nodes, in the order the file lists them
            for key, value in node.items():
                if key not in _META_KEYS:
                    yield from ((child, path, False) for child in _nested_nodes(value))

    # values ------------------------------------------------------------------------------------------
    def resolve(self, node):
        """The node skops builds for ``node`` (an earlier one with the same ``__id__``, if any)."""
        if _is_node(node):
            try:
                return self.memo.get(node.get("__id__"), node)
            except TypeError:  # an unhashable id: skops cannot read it either
                return node
        return node

    def attrs(self, node):
        """Attribute name -> value node of an ObjectNode (None when not a plain dict)."""
        content = self.resolve(node).get("content")
        content = self.resolve(content) if _is_node(content) else None
        if content is None or content.get("__loader__") != "DictNode" or not isinstance(content.get("content"), dict):
            return None
        return content["content"]

    def decode(self, node, depth=0):
        """The value skops would build for ``node``, for plain values; an :class:`_Opaque` otherwise."""
        node = self.resolve(node)
        if not _is_node(node) or depth > 20:
            return _Opaque("unreadable")
        loader = node["__loader__"]
        content = node.get("content")
        try:
            if loader == "JsonNode" and isinstance(content, str):
                return json.loads(content)
            if loader in ("ListNode", "TupleNode") and isinstance(content, list):
                items = [self.decode(item, depth + 1) for item in content]
                return tuple(items) if loader == "TupleNode" else items
            if loader == "DictNode" and isinstance(content, dict):
                return {key: self.decode(value, depth + 1) for key, value in content.items()}
            if loader == "NdArrayNode" and node.get("type") == "numpy" and isinstance(node.get("file"), str):
                return self._array(node)
        except (ValueError, RecursionError):
            pass
        return _Opaque(_type_name(node))

    def _array(self, node):
        import numpy as np

        with zipfile.ZipFile(self.path) as z:
            info = z.getinfo(node["file"])
            if info.file_size > _MAX_ARRAY_BYTES:
                return _Opaque(_type_name(node))
            value = np.load(io.BytesIO(z.read(info)), allow_pickle=False)
        return value.item() if value.ndim == 0 else _Opaque(f"{_type_name(node)} of shape {value.shape}")

    def step_info(self, obj_path, node):
        attrs = self.attrs(node) or {}
        fields = {}
        for name in _STEP_FIELDS:
            if name in attrs:
                fields[name] = self.decode(attrs[name])
            elif self.attrs(node) is None:
                fields[name] = _Opaque("not readable")
        fitted = any(k.endswith("_") and not k.startswith("_") for k in attrs)
        return AudioStepInfo(path=_joined(obj_path), cls=_type_name(self.resolve(node)), fitted=fitted, **fields)


def _is_node(value):
    return isinstance(value, dict) and isinstance(value.get("__loader__"), str)


def _is_named_step(item):
    """A ``(name, estimator, ...)`` tuple, as in ``Pipeline.steps`` or ``FeatureUnion.transformer_list``."""
    if not (_is_node(item) and item["__loader__"] == "TupleNode"):
        return False
    content = item.get("content")
    if not (isinstance(content, list) and len(content) >= 2 and _is_node(content[0])
            and content[0]["__loader__"] == "JsonNode" and _is_node(content[1])
            and content[1]["__loader__"] == "ObjectNode"):
        return False
    try:
        return isinstance(json.loads(content[0].get("content")), str)
    except (TypeError, ValueError):
        return False


def _nested_nodes(value):
    """The skops nodes inside a plain JSON value (a node's ``content``, ``__reduce__``, ...)."""
    if _is_node(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _nested_nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nested_nodes(item)


def _type_name(node):
    return f"{node.get('__module__')}.{node.get('__class__')}"


def _joined(path):
    return "__".join(path)


def _where(path, cls):
    short = str(cls).rsplit(".", 1)[-1]
    return f"step {path} ({short})" if path else f"the saved {short}"


# -- trust_remote_code ---------------------------------------------------------------------------------


def _grants(value) -> bool:
    """Whether a ``trust_remote_code`` value lets code run: anything but False or None (or numpy False)."""
    if value is None or value is False:
        return False
    if type(value).__name__ == "bool_" and type(value).__module__ == "numpy":
        return bool(value)
    return True


def _remote_code_in_schema(scan):
    """``[(path, type, model, value)]`` of the objects of a schema that set ``trust_remote_code``.

    Both the value node at its place and the node skops builds for its id are
    read; an unreadable value counts as set.
    """
    found = []
    for obj_path, node in scan.objects:
        attrs = scan.attrs(node)
        if attrs is None or "trust_remote_code" not in attrs:
            continue
        raw = attrs["trust_remote_code"]
        values = [scan.decode(raw)]  # what skops builds (an earlier node with the same id, if any) ...
        if _is_node(raw) and raw["__loader__"] != "CachedNode":
            values.append(scan.decode(dict(raw, __id__=None)))  # ... and what is written here
        granting = [value for value in values if _grants(value)]
        if granting:
            model = scan.decode(attrs["model"]) if "model" in attrs else None
            found.append((_joined(obj_path), _type_name(scan.resolve(node)), model, granting[0]))
    return found


def _children_of(obj, path):
    """``(child, path)`` of the objects reachable from ``obj`` in one step (attributes, items)."""
    import numpy as np

    if isinstance(obj, dict):
        for key, value in obj.items():
            yield key, path
            yield value, path + (str(key),)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            if (isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str)
                    and hasattr(item[1], "__dict__")):
                step = path[:-1] + (item[0],)
                yield from ((part, step) for part in item[1:])
            else:
                yield item, path + (str(i),)
    elif isinstance(obj, (set, frozenset)):
        for item in obj:
            yield item, path
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            for item in obj.ravel():
                yield item, path
    elif not isinstance(obj, type):
        attrs = getattr(obj, "__dict__", None)
        if type(attrs) is dict:
            for key, value in attrs.items():
                yield value, path + (key,)


def _remote_code_in_object(root):
    """Walk every object reachable from ``root`` (attributes, lists, tuples, dicts, sets).

    Returns
    -------
    granted : list of (path, type, model, value)
        The objects whose ``trust_remote_code`` attribute grants remote code.
    unset : list of object
        The objects whose ``trust_remote_code`` is None.
    """
    granted, unset, seen = [], [], set()
    stack = [(root, ())]
    while stack:
        obj, path = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, complex, bool)) or obj is None:
            continue
        seen.add(id(obj))
        attrs = getattr(obj, "__dict__", None)
        if type(attrs) is dict and "trust_remote_code" in attrs and not isinstance(obj, type):
            value = attrs["trust_remote_code"]
            if _grants(value):
                cls = type(obj)
                granted.append((_joined(path), f"{cls.__module__}.{cls.__qualname__}", attrs.get("model"), value))
            elif value is None:
                unset.append(obj)
        stack.extend(reversed(list(_children_of(obj, path))))
    granted.sort(key=lambda g: g[0])
    return granted, unset


def _remote_code_error(path, granted):
    where = "; ".join(f"{_where(p, cls)}: model {model!r}, trust_remote_code={value!r}"
                      for p, cls, model, value in granted)
    error = RemoteCodeError(
        f"{path!r} lets a model run Python code it ships -- {where}. A loaded file never grants that, so "
        f"it was not loaded. If you trust this file and that model's code, opt in: {_OPT_IN}. To see what "
        "the file holds first: zsfuse.inspect(path) or zsfuse predict MODEL.skops --show."
    )
    error.path = path
    error.steps = [p for p, _, _, _ in granted]
    return error


# -- helpers ---------------------------------------------------------------------------------------------


def _skops_call(path, function, *args, **kwargs):
    """Call skops on a file; what skops cannot read becomes an UnreadableFileError naming the file."""
    try:
        return function(*args, **kwargs)
    except (ZsfuseError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 -- a malformed file can fail skops in many ways
        raise _unreadable(path, f"could not be read by skops ({type(exc).__name__}: {_one_line(exc)})") from exc


@contextlib.contextmanager
def _plain_feature_names(estimator):
    """Store a FeatureUnion's pandas column names as numpy arrays while it is dumped (then restore them)."""
    import numpy as np

    swapped = []
    seen, stack = set(), [estimator]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        attrs = getattr(obj, "__dict__", None)
        names = attrs.get("_transformers_feature_names_out") if type(attrs) is dict else None
        if isinstance(names, list) and any(not isinstance(n, np.ndarray) for n in names):
            swapped.append((obj, names))
        stack.extend(child for child, _ in _children_of(obj, ()) if not isinstance(child, (str, bytes)))
    try:
        for obj, names in swapped:
            obj._transformers_feature_names_out = [np.asarray(n, dtype=object) for n in names]
        yield
    finally:
        for obj, names in swapped:
            obj._transformers_feature_names_out = names


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _show(value):
    return repr(value)


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _foreign(untrusted, extra):
    allowed = set(TRUSTED_TYPES) | set(extra)
    return sorted(t for t in untrusted if t not in allowed)
