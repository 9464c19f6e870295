"""JSON conversion of the records zsfuse writes (results, reports, what a saved file holds).

Two ways, one rule for numpy values (a scalar becomes the Python number, an
array a nested list):

* :func:`jsonable` makes a plain copy that can always be written: any other
  object becomes its ``repr``. For records of parameters and settings.
* :func:`json_default` is the ``default=`` hook of :func:`json.dumps`: it
  converts paths and sets too, and refuses (``TypeError``) what it does not
  know, so that a report never holds a value silently turned into text.
"""

from __future__ import annotations

from pathlib import PurePath

import numpy as np

__all__ = ["json_default", "jsonable"]


def jsonable(value):
    """A JSON-serialisable copy of ``value``.

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    object
        Dicts (keys made strings), lists and tuples (as lists) converted item
        by item; numpy scalars as Python numbers, numpy arrays as nested
        lists; None, bool, int, float and str as they are; any other object
        as its ``repr``.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"a": (np.int64(1), np.array([0.5])), 2: None})
    {'a': [1, [0.5]], '2': None}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def json_default(value):
    """The ``default=`` hook of :func:`json.dumps` for the values reports may hold.

    Parameters
    ----------
    value : object
        A value :mod:`json` cannot write itself.

    Returns
    -------
    object
        A numpy scalar as its Python number, a numpy array as nested lists,
        a path as its string, a set as a list sorted by ``repr``.

    Raises
    ------
    TypeError
        For any other type ("Object of type ... is not JSON serializable").

    Examples
    --------
    >>> import json
    >>> from pathlib import PurePosixPath
    >>> json.dumps({"p": PurePosixPath("a/b"), "s": {2, 1}}, default=json_default)
    '{"p": "a/b", "s": [1, 2]}'
    """
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable: {value!r}")
