"""Exceptions raised by zsfuse.

Every error about one clip names the clip: its position in ``X`` and, where it
came from a file, the path. Catch :class:`ClipError` to handle all of them.
"""

from __future__ import annotations

__all__ = [
    "ZsfuseError",
    "ClipError",
    "ClipNotFoundError",
    "MissingDependencyError",
    "ModelNotFoundError",
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
