"""Reading the command line's values: lists, ``KEY=VALUE`` pairs, the cache folder, the invocation.

The commands (``_evaluate``, ``_score``, ``_demo``) import these; the parser
(``_parser``) does not, so that no command module imports another.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

__all__ = ["cache_dir_of", "command_line", "default_cache_dir", "parse_assignments", "parse_toml", "split_list"]


def split_list(text):
    """Split a comma-separated list.

    Parameters
    ----------
    text : str or None
        E.g. ``"a,b, c"``.

    Returns
    -------
    list of str or None
        The stripped, non-empty items (``["a", "b", "c"]``); None for None.

    Raises
    ------
    ValueError
        When ``text`` holds no item.

    Examples
    --------
    >>> split_list("angry, sad,")
    ['angry', 'sad']
    """
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"expected a comma-separated list, got {text!r}.")
    return items


def parse_assignments(items, what):
    """Read ``KEY=VALUE`` arguments into a dict.

    Parameters
    ----------
    items : list of str
        The arguments, e.g. ``["layers=all", "zs_weight=0.5"]``.
    what : str
        How the error message names them (``"--set"``, ``"dataset option"``).

    Returns
    -------
    dict
        Key -> value; a value is read as JSON when it parses, else kept as
        the string.

    Raises
    ------
    ValueError
        For an item without ``=`` or with an empty key.

    Examples
    --------
    >>> parse_assignments(["layers=all", "zs_weight=0.5", "classes=[1, 2]"], "--set")
    {'layers': 'all', 'zs_weight': 0.5, 'classes': [1, 2]}
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what} {item!r} must look like KEY=VALUE.")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def default_cache_dir() -> str:
    """The default embedding store folder.

    Returns
    -------
    str
        ``$ZSFUSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/zsfuse``, else ``~/.cache/zsfuse``.
    """
    if os.environ.get("ZSFUSE_CACHE_DIR"):
        return os.environ["ZSFUSE_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "zsfuse")


def cache_dir_of(args):
    """The run's embedding store folder.

    Parameters
    ----------
    args : argparse.Namespace
        With ``no_cache`` and ``cache_dir``.

    Returns
    -------
    str or None
        None with ``--no-cache``; else ``--cache-dir`` (``~`` expanded) or
        :func:`default_cache_dir`.
    """
    if args.no_cache:
        return None
    return os.path.expanduser(args.cache_dir) if args.cache_dir else default_cache_dir()


def command_line(args):
    """The invocation, quoted for a shell (recorded in the reports).

    Parameters
    ----------
    args : argparse.Namespace
        Its ``argv`` (set by :func:`zsfuse.cli.main`), else ``sys.argv[1:]``.

    Returns
    -------
    str
        ``"zsfuse "`` and the arguments, each quoted with :func:`shlex.quote`.
    """
    return "zsfuse " + " ".join(shlex.quote(a) for a in getattr(args, "argv", sys.argv[1:]))


def parse_toml(text):
    """Parse a TOML document: the standard library's ``tomllib`` (Python 3.11+), else ``tomli``.

    Parameters
    ----------
    text : str
        The document.

    Returns
    -------
    dict
        Its top-level table.

    Raises
    ------
    ValueError
        For text that is not valid TOML (``TOMLDecodeError`` is a ``ValueError``).

    Examples
    --------
    >>> parse_toml('clf__zs_weight = [0, 0.5]')
    {'clf__zs_weight': [0, 0.5]}
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10: the same parser, installed as a dependency there
        import tomli as tomllib
    return tomllib.loads(text)
