"""The ``zsfuse`` command line: ``evaluate``, ``amplify``, ``report``, ``zero-shot``, ``predict`` and ``demo``.

Every command ends a bad invocation (an unknown dataset, an empty root, a
model that cannot be found offline, ...) with one line on stderr and exit
status 2 -- no traceback. ``--debug`` (or ``ZSFUSE_DEBUG=1``) shows it.
Run ``zsfuse COMMAND --help`` for the options of a command; ``docs/commands/``
documents each of them (``evaluate.md``, ``amplify.md``, ``report.md``,
``zero-shot.md``, ``predict.md``, ``demo.md``).
"""

from ._main import EXIT_ERROR as EXIT_ERROR
from ._main import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from ._main import main

__all__ = ["main"]
