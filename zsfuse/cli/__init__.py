"""The ``zsfuse`` command line: ``evaluate``, ``zero-shot``, ``predict`` and ``demo``.

Every command ends a bad invocation (an unknown dataset, an empty root, a
model that cannot be found offline, ...) with one line on stderr and exit
status 2 -- no traceback. ``--debug`` (or ``ZSFUSE_DEBUG=1``) shows it.
Run ``zsfuse COMMAND --help`` for the options of a command; ``docs/cli.md``
documents them all.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main"]

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
    from ._parser import build_parser

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
        print(f"zsfuse {args.command}: interrupted. Run the same command again to resume: "
              "finished embeddings are kept in the cache.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 -- one line for the user, the traceback with --debug
        if debug or not _is_user_error(exc):
            raise
        print(f"zsfuse {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _is_user_error(exc) -> bool:
    """Errors that mean "the invocation or the inputs are wrong", not a bug in zsfuse."""
    from ..exceptions import ZsfuseError

    return isinstance(exc, (ZsfuseError, ValueError, FileNotFoundError, PermissionError, OSError))


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
