"""Exceptions raised by zsfuse.

Every error about one clip names the clip: its position in ``X`` and, where it
came from a file, the path. Catch :class:`ClipError` to handle all of them.
"""

from __future__ import annotations

__all__ = [
    "ZsfuseError",
    "CacheError",
    "ClipError",
    "ClipNotFoundError",
    "ClipWarning",
    "DatasetError",
    "DatasetOptionError",
    "EvaluationError",
    "FusionWarning",
    "MissingDependencyError",
    "ModelKindError",
    "ModelNotFoundError",
    "RemoteCodeError",
    "TrainingDataWarning",
    "UnreadableFileError",
    "UnsupportedModelError",
    "UntrustedTypesError",
]


class ZsfuseError(Exception):
    """Base class of every error raised by zsfuse itself."""


def describe_clip(index: int | None, path: str | None = None) -> str:
    """Return the human-readable name of a clip, e.g. ``clip 3 ('a.wav')``.

    Parameters
    ----------
    index : int or None
        Position of the clip in ``X``.
    path : str or None
        File the clip came from, when it came from a file.

    Returns
    -------
    str
        The name used at the start of every clip error message.
    """
    name = "clip" if index is None else f"clip {index}"
    if path is not None:
        name += f" ({path!r})"
    return name


def one_line(exc):
    """An exception's text on one line (its type name when it has no text).

    Parameters
    ----------
    exc : BaseException or object
        What to describe.

    Returns
    -------
    str
        Its message with every run of whitespace (newlines included) made one
        space: how the command line and the persistence errors quote it.
    """
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class ClipError(ZsfuseError, ValueError):
    """A clip of ``X`` cannot be used.

    Parameters
    ----------
    index : int or None
        Position of the offending clip in ``X``.
    path : str or None
        Its file, when it came from one.
    problem : str
        What is wrong with it.
    fix : str, optional
        What the user can do about it.

    Attributes
    ----------
    index : int or None
        Position of the offending clip in ``X``.
    path : str or None
        Its file, when it came from one.
    """

    def __init__(self, index, path, problem, fix=""):
        self.index = index
        self.path = path
        self.problem = problem
        self.fix = fix
        message = f"{describe_clip(index, path)}: {problem}"
        if fix:
            message += f" {fix}"
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (self.index, self.path, self.problem, self.fix))


class ClipNotFoundError(ClipError, FileNotFoundError):
    """A clip's file does not exist."""


class MissingDependencyError(ZsfuseError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


class ModelNotFoundError(ZsfuseError, OSError):
    """A model is neither a local folder nor in the Hugging Face cache (offline)."""


class TrainingDataWarning(UserWarning):
    """The corpus being scored was in the audio-language model's training data.

    Its zero-shot scores there are not zero-shot: the model has seen those
    clips (or their speakers) with their labels or captions. The warning names
    the model, the corpus and the source of the fact; reports carry it too.
    """


class ModelKindError(ZsfuseError, ValueError):
    """A model folder or checkpoint holds another kind of model than the one asked for.

    For example a WavLM folder given where a CLAP model is expected. The
    message names the path, the kind found (read from its ``config.json`` or
    checkpoint keys, before any weight is loaded) and the kinds accepted.
    """


class CacheError(ZsfuseError, OSError):
    """The on-disk embedding store cannot be used (corrupt, read-only, not a database).

    The message names the database file and what to do: delete the cache
    folder (it only holds embeddings, which are recomputed), choose another
    ``cache_dir``, or run without a disk cache (``cache_dir=None``,
    ``--no-cache``).
    """


class UnreadableFileError(ZsfuseError, ValueError):
    """A file zsfuse was asked to read is not what it should be (truncated, wrong format)."""


class RemoteCodeError(ZsfuseError, PermissionError):
    """A loaded file asks for ``trust_remote_code=True``, which the caller did not grant.

    Loading a file never grants a model permission to run code it ships: the
    caller must opt in at load time (``zsfuse.load(path, trust_remote_code=True)``,
    ``zsfuse predict --trust-remote-code``).
    """


class ClipWarning(UserWarning):
    """A clip is used, but probably not as meant (e.g. float samples far outside [-1, 1]).

    The message names the clip (index and path) like :class:`ClipError`.
    """


class UnsupportedModelError(ModelKindError):
    """The checkpoint is not a speech foundation model this transformer can read."""


class FusionWarning(UserWarning):
    """``LateFusionClassifier`` found no zero-shot block and fits its head alone."""


class EvaluationError(ZsfuseError, ValueError):
    """The evaluation cannot run as asked (a bad grid, a fold without a class, ...)."""


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


class DatasetError(ZsfuseError, ValueError):
    """A dataset cannot be loaded as asked.

    The message says what is wrong, names the offending files (the first few
    and how many in all) and what to do about it.

    Parameters
    ----------
    message : str
        The full message.
    paths : sequence of str, optional
        Every offending file (not only those the message shows).

    Attributes
    ----------
    paths : tuple of str
        Every offending file; empty where the error is not about files.
    """

    def __init__(self, message, paths=()):
        self.paths = tuple(str(p) for p in paths)
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (str(self), self.paths))


class DatasetOptionError(DatasetError, TypeError):
    """An option the chosen loader does not take (a DatasetError and a TypeError)."""
