"""``main``: parse the command line, run the command, turn a user error into one line."""

from __future__ import annotations

import os
import sys

from ..exceptions import ZsfuseError, one_line
from ._parser import build_parser

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "main"]

#: Exit status of a bad invocation or a failed run, and of an interrupted one.
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def main(argv=None) -> int:
    """Run the ``zsfuse`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 on an error, 130 when interrupted.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    debug = args.debug or os.environ.get("ZSFUSE_DEBUG", "") not in ("", "0")
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(
            f"zsfuse {args.command}: interrupted. Run the same command again to resume: "
            "finished embeddings are kept in the cache.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 -- one line for the user, the traceback with --debug
        if debug or not _is_user_error(exc):
            raise
        print(f"zsfuse {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _is_user_error(exc) -> bool:
    """Errors that mean "the invocation or the inputs are wrong", not a bug in zsfuse."""
    return isinstance(exc, (ZsfuseError, ValueError, FileNotFoundError, PermissionError, OSError))
