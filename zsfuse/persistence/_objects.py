"""The trust checks: what in a saved file (its schema) or a loaded object could make zsfuse run code.

* ``trust_remote_code`` anywhere but False/None: refused unless the caller opts in;
* a scikit-learn ``Pipeline(memory=...)`` folder (joblib reads it with pickle on a refit): reset.
"""

from __future__ import annotations

import contextlib
import warnings

from ..exceptions import RemoteCodeError
from ._info import OPT_IN, describe_step, grants_code, join_path
from ._schema import is_node, node_type_name


def remote_code_in_schema(scan):
    """``[(path, type, model, value)]`` of the objects of a schema that set ``trust_remote_code``.

    Both the value node at its place and the node skops builds for its id are
    read; an unreadable value counts as set.
    """
    found = []
    for obj_path, node in scan.objects:
        attrs = scan.attrs(node)
        if attrs is None or "trust_remote_code" not in attrs:
            continue
        raw = attrs["trust_remote_code"]
        values = [scan.decode(raw)]  # what skops builds (an earlier node with the same id, if any) ...
        if is_node(raw) and raw["__loader__"] != "CachedNode":
            values.append(scan.decode(dict(raw, __id__=None)))  # ... and what is written here
        granting = [value for value in values if grants_code(value)]
        if granting:
            model = scan.decode(attrs["model"]) if "model" in attrs else None
            found.append((join_path(obj_path), node_type_name(scan.resolve(node)), model, granting[0]))
    return found


def _children_of(obj, path):
    """``(child, path)`` of the objects reachable from ``obj`` in one step (attributes, items)."""
    import numpy as np

    if isinstance(obj, dict):
        for key, value in obj.items():
            yield key, path
            yield value, path + (str(key),)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str) and hasattr(item[1], "__dict__"):
                step = path[:-1] + (item[0],)
                yield from ((part, step) for part in item[1:])
            else:
                yield item, path + (str(i),)
    elif isinstance(obj, (set, frozenset)):
        for item in obj:
            yield item, path
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            for item in obj.ravel():
                yield item, path
    elif not isinstance(obj, type):
        attrs = getattr(obj, "__dict__", None)
        if type(attrs) is dict:
            for key, value in attrs.items():
                yield value, path + (key,)


def remote_code_in_object(root):
    """Walk every object reachable from ``root`` (attributes, lists, tuples, dicts, sets).

    Returns
    -------
    granted : list of (path, type, model, value)
        The objects whose ``trust_remote_code`` attribute grants remote code.
    unset : list of object
        The objects whose ``trust_remote_code`` is None.
    """
    granted, unset, seen = [], [], set()
    stack = [(root, ())]
    while stack:
        obj, path = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, complex, bool)) or obj is None:
            continue
        seen.add(id(obj))
        attrs = getattr(obj, "__dict__", None)
        if type(attrs) is dict and "trust_remote_code" in attrs and not isinstance(obj, type):
            value = attrs["trust_remote_code"]
            if grants_code(value):
                cls = type(obj)
                granted.append((join_path(path), f"{cls.__module__}.{cls.__qualname__}", attrs.get("model"), value))
            elif value is None:
                unset.append(obj)
        stack.extend(reversed(list(_children_of(obj, path))))
    granted.sort(key=lambda g: g[0])
    return granted, unset


def remote_code_error(path, granted):
    """The error for a file that sets ``trust_remote_code`` without the caller's opt-in.

    Parameters
    ----------
    path : str
        The file.
    granted : list of (path, type, model, value)
        What :func:`remote_code_in_schema` or :func:`remote_code_in_object` found.

    Returns
    -------
    RemoteCodeError
        With ``path`` and ``steps`` (the steps' paths) set on it.
    """
    where = "; ".join(
        f"{describe_step(p, cls)}: model {model!r}, trust_remote_code={value!r}" for p, cls, model, value in granted
    )
    error = RemoteCodeError(
        f"{path!r} lets a model run Python code it ships -- {where}. A loaded file never grants that, so "
        f"it was not loaded. If you trust this file and that model's code, opt in: {OPT_IN}. To see what "
        "the file holds first: zsfuse.inspect(path) or zsfuse predict MODEL.skops --show."
    )
    error.path = path
    error.steps = [p for p, _, _, _ in granted]
    return error


def drop_pipeline_memory(path, root):
    """Reset any scikit-learn ``memory=`` folder a file sets (joblib reads it back with pickle on refit).

    A cache folder only saves time, so dropping it changes no answer; the
    warning says how to set it again.
    """
    from sklearn.pipeline import Pipeline

    seen, stack, dropped = set(), [(root, ())], []
    while stack:
        obj, where = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, complex, bool)) or obj is None:
            continue
        seen.add(id(obj))
        if isinstance(obj, Pipeline) and obj.memory is not None:
            dropped.append((join_path(where) or "the loaded pipeline", obj.memory))
            obj.memory = None
        stack.extend(_children_of(obj, where))
    if dropped:
        listed = "; ".join(f"{w}: memory={m!r}" for w, m in dropped)
        warnings.warn(
            f"{path!r} set a Pipeline cache folder ({listed}); joblib reads such a folder back with pickle "
            "when the pipeline is fitted again, so a loaded file does not get to choose it: it was reset to "
            "None. Set it again after loading if you trust that folder (pipe.set_params(memory=...)).",
            UserWarning,
            stacklevel=3,
        )


@contextlib.contextmanager
def plain_feature_names(estimator):
    """Store a FeatureUnion's pandas column names as numpy arrays while it is dumped (then restore them)."""
    import numpy as np

    swapped = []
    seen, stack = set(), [estimator]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        attrs = getattr(obj, "__dict__", None)
        names = attrs.get("_transformers_feature_names_out") if type(attrs) is dict else None
        if isinstance(names, list) and any(not isinstance(n, np.ndarray) for n in names):
            swapped.append((obj, names))
        stack.extend(child for child, _ in _children_of(obj, ()) if not isinstance(child, (str, bytes)))
    try:
        for obj, names in swapped:
            obj._transformers_feature_names_out = [np.asarray(n, dtype=object) for n in names]
        yield
    finally:
        for obj, names in swapped:
            obj._transformers_feature_names_out = names
