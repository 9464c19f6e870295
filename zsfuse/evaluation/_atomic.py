"""Writing a report file atomically: the previous complete file, or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os

__all__ = ["atomic_write"]


def atomic_write(path, write, *, binary=False, newline=None):
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it over ``path``.

    Parameters
    ----------
    path : pathlib.Path
        The file to write; its folder must exist.
    write : callable
        Called with the open temporary file; writes the content.
    binary : bool, default=False
        Open the file in binary mode (else text, UTF-8).
    newline : str, optional
        The ``newline`` of :func:`open` in text mode (``""`` for :mod:`csv`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    The data is flushed and synced (``os.fsync``) before ``os.replace``
    renames the temporary file over ``path``; on any error (or interrupt) the
    temporary file is removed and the error raised, ``path`` left as it was.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if binary:
            fh = open(tmp, "wb")
        else:
            fh = open(tmp, "w", encoding="utf-8", newline=newline)
        with fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
