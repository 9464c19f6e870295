"""What every tiny-model builder shares: a seeded torch random state and the output folder."""

from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def seeded(seed):
    """Run the block with torch's CPU random generator forked and seeded.

    The global torch random state is the same after the block as before it.

    Parameters
    ----------
    seed : int
        Seed given to ``torch.manual_seed`` inside the fork.

    Yields
    ------
    None
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def prepare_folder(path):
    """Create ``path`` (and its parents) if missing.

    Parameters
    ----------
    path : str or path-like
        The folder.

    Returns
    -------
    pathlib.Path
        ``path``, as a ``Path``.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
