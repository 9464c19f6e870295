"""Optional dependencies: import one, or say which zsfuse extra installs it."""

from __future__ import annotations

import importlib

from ..exceptions import MissingDependencyError


def require_extra(module: str, extra: str, purpose: str):
    """Import an optional dependency or say which extra installs it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"msclap"``.
    extra : str
        The zsfuse extra that provides it, e.g. ``"msclap"``.
    purpose : str
        What needs it, for the message (e.g. ``"MS-CLAP models"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingDependencyError
        If it is not installed, or installed but broken (the message keeps the cause).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == module
        state = "is not installed" if missing else f"is installed but fails to import ({exc})"
        raise MissingDependencyError(
            f"{purpose} need the '{module}' package, which {state}. Install the extra: pip install 'zsfuse[{extra}]'"
        ) from exc
