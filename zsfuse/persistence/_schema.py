"""Reading a skops file's ``schema.json`` without building anything: its nodes, in the order skops builds them."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib

from ..exceptions import UnreadableFileError, one_line
from ._info import (
    MAX_ARRAY_BYTES,
    REFUSED_FIX,
    STEP_FIELDS,
    AudioStepInfo,
    join_path,
)

# keys of a skops node that hold no child node
_META_KEYS = {
    "__class__",
    "__module__",
    "__loader__",
    "__id__",
    "is_json",
    "type",
    "file",
    "protocol",
    "_skops_version",
}


class _Opaque:
    """A value inspect does not decode (shown as ``<module.Type>``)."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"

    def __eq__(self, other):
        return isinstance(other, _Opaque) and other.what == self.what

    def __hash__(self):
        return hash(self.what)


def unreadable_error(path, problem, fix=REFUSED_FIX):
    """The error for a file that cannot be loaded.

    Parameters
    ----------
    path : str
        The file.
    problem : str
        What is wrong with it, phrased after the file's name ("is empty (0 bytes)").
    fix : str, default=REFUSED_FIX
        What the user can do about it.

    Returns
    -------
    UnreadableFileError
    """
    return UnreadableFileError(f"{path!r} {problem}, so it cannot be loaded. {fix}")


def _skops_protocol():
    try:
        from skops.io._protocol import PROTOCOL
    except ImportError:  # pragma: no cover -- a skops without it: skops itself decides
        return None
    return PROTOCOL


class SchemaScan:
    """The nodes of a skops schema, walked in the order skops builds them.

    skops builds one object per ``__id__``: a node whose id was seen before
    (or a ``CachedNode``) stands for that earlier node, whatever it holds.
    Make one with :meth:`read`.

    Parameters
    ----------
    path : str
        The file (its arrays are read from it on demand).
    schema : dict
        Its parsed ``schema.json``.

    Attributes
    ----------
    root : dict
        The schema's root node.
    protocol : int
        skops protocol of the file.
    skops_version : str or None
        skops version that wrote it, as the file says.
    memo : dict
        ``__id__`` -> the node skops builds for it.
    types : set of str
        Every type the file names (``module.QualifiedName``).
    objects : list of (tuple of str, dict)
        Path and node of every ``ObjectNode`` occurrence, in build order.
    """

    def __init__(self, path, schema):
        self.path = path
        self.root = schema
        self.protocol = schema["protocol"]
        self.skops_version = schema.get("_skops_version")
        self.memo = {}  # __id__ -> the node skops builds for it
        self.types = set()
        self.objects = []  # (path tuple, node) of every ObjectNode occurrence, in build order
        self._walk()

    # reading -----------------------------------------------------------------------------------------
    @classmethod
    def read(cls, path):
        """Read a file's schema without building anything.

        Parameters
        ----------
        path : str
            A skops file.

        Returns
        -------
        SchemaScan

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        UnreadableFileError
            If it is not a skops file this skops can read.
        """
        if os.path.isdir(path):
            raise UnreadableFileError(
                f"{path!r} is a directory, not a .skops file, so it cannot be loaded. Check the path: "
                "give the file written by zsfuse.save(pipe, path)."
            )
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path!r} does not exist: check the path (a .skops file written by zsfuse.save(pipe, path))."
            )
        if os.path.getsize(path) == 0:
            raise unreadable_error(path, "is empty (0 bytes)")
        try:
            with zipfile.ZipFile(path) as z:
                if "schema.json" not in z.namelist():
                    raise unreadable_error(path, "is a zip archive without schema.json, not a skops file")
                raw = z.read("schema.json")
        except (PermissionError, IsADirectoryError):
            raise
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            NotImplementedError,
            RuntimeError,
            ValueError,
            struct.error,
            OSError,
        ) as exc:
            with open(path, "rb") as f:
                head = f.read(4)
            problem = (
                "is a damaged or truncated zip archive"
                if head == b"PK\x03\x04"
                else "is not a zip archive (which a .skops file is)"
            )
            raise unreadable_error(path, f"{problem} ({type(exc).__name__}: {one_line(exc)})") from exc
        try:
            schema = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            problem = f"has a schema.json that is not valid JSON ({one_line(exc)})"
            raise unreadable_error(path, problem) from exc
        if not isinstance(schema, dict) or not isinstance(schema.get("__loader__"), str):
            raise unreadable_error(path, "has a schema.json that is not a skops schema")
        protocol = schema.get("protocol")
        if isinstance(protocol, bool) or not isinstance(protocol, int) or protocol < 0:
            raise unreadable_error(
                path,
                f"has no valid skops protocol in its schema.json (got {protocol!r}), so it was not written by skops",
            )
        newest = _skops_protocol()
        if newest is not None and protocol > newest:
            import skops

            raise unreadable_error(
                path,
                f"was written with skops protocol {protocol}, newer than this skops "
                f"({skops.__version__}) reads (up to protocol {newest})",
                "Update skops (pip install -U skops), or re-save the pipeline with zsfuse.save(pipe, path) "
                "with the skops installed here.",
            )
        try:
            return cls(path, schema)
        except RecursionError as exc:  # pragma: no cover -- the walk is iterative; decoding nests
            raise unreadable_error(path, "has a schema.json nested too deeply") from exc

    def _walk(self):
        # (node, path, named): ``named`` marks a (name, estimator, ...) tuple whose items take its path
        stack = [(self.root, (), False)]
        while stack:
            node, path, named = stack.pop()
            if not is_node(node):
                raise unreadable_error(self.path, "has a schema.json with a malformed node")
            loader, saved_id = node["__loader__"], node.get("__id__")
            try:
                hash(saved_id)
            except TypeError:
                problem = f"has a schema.json with a malformed object id {saved_id!r}"
                raise unreadable_error(self.path, problem) from None
            if loader == "CachedNode":
                if saved_id not in self.memo:
                    raise unreadable_error(self.path, "refers to an object it does not define (CachedNode)")
                node = self.memo[saved_id]
                if node.get("__loader__") == "ObjectNode":
                    self.objects.append((path, node))
                continue
            if saved_id in self.memo and self.memo[saved_id] is not node:
                # skops builds the earlier node here (and never reads this one)
                earlier = self.memo[saved_id]
                if earlier.get("__loader__") == "ObjectNode":
                    self.objects.append((path, earlier))
                continue
            if saved_id:
                self.memo[saved_id] = node
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                self.types.add(node_type_name(node))
            if loader == "ObjectNode":
                self.objects.append((path, node))
            children = list(self._children(node, path, named))
            stack.extend(reversed(children))

    def _children(self, node, path, named):
        loader = node["__loader__"]
        content = node.get("content")
        if loader == "DictNode":
            if is_node(node.get("key_types")):
                yield node["key_types"], path, False
            if isinstance(content, dict):
                for key, value in content.items():
                    yield value, path + (str(key),), False
        elif loader in ("ListNode", "TupleNode", "SetNode") and isinstance(content, list):
            for i, item in enumerate(content):
                if named:
                    yield item, path, False
                elif _is_named_step(item):
                    step = json.loads(item["content"][0]["content"])
                    yield item, path[:-1] + (step,), True
                else:
                    yield item, path + (str(i),), False
        elif loader == "ObjectNode":
            if content is not None:
                yield content, path, False
        else:  # any other node: its child nodes, in the order the file lists them
            for key, value in node.items():
                if key not in _META_KEYS:
                    yield from ((child, path, False) for child in _nested_nodes(value))

    # values ------------------------------------------------------------------------------------------
    def resolve(self, node):
        """The node skops builds for ``node`` (an earlier one with the same ``__id__``, if any)."""
        if is_node(node):
            try:
                return self.memo.get(node.get("__id__"), node)
            except TypeError:  # an unhashable id: skops cannot read it either
                return node
        return node

    def attrs(self, node):
        """Attribute name -> value node of an ObjectNode (None when not a plain dict)."""
        content = self.resolve(node).get("content")
        content = self.resolve(content) if is_node(content) else None
        if content is None or content.get("__loader__") != "DictNode" or not isinstance(content.get("content"), dict):
            return None
        return content["content"]

    def decode(self, node, depth=0):
        """The value skops would build for ``node``, for plain values; an :class:`_Opaque` otherwise."""
        node = self.resolve(node)
        if not is_node(node) or depth > 20:
            return _Opaque("unreadable")
        loader = node["__loader__"]
        content = node.get("content")
        try:
            if loader == "JsonNode" and isinstance(content, str):
                return json.loads(content)
            if loader in ("ListNode", "TupleNode") and isinstance(content, list):
                items = [self.decode(item, depth + 1) for item in content]
                return tuple(items) if loader == "TupleNode" else items
            if loader == "DictNode" and isinstance(content, dict):
                return {key: self.decode(value, depth + 1) for key, value in content.items()}
            if loader == "NdArrayNode" and node.get("type") == "numpy" and isinstance(node.get("file"), str):
                return self._array(node)
        except (ValueError, RecursionError):
            pass
        return _Opaque(node_type_name(node))

    def _array(self, node):
        import numpy as np

        with zipfile.ZipFile(self.path) as z:
            info = z.getinfo(node["file"])
            if info.file_size > MAX_ARRAY_BYTES:
                return _Opaque(node_type_name(node))
            value = np.load(io.BytesIO(z.read(info)), allow_pickle=False)
        return value.item() if value.ndim == 0 else _Opaque(f"{node_type_name(node)} of shape {value.shape}")

    def step_info(self, obj_path, node):
        """The :class:`AudioStepInfo` of an audio step's node at ``obj_path``."""
        attrs = self.attrs(node) or {}
        fields = {}
        for name in STEP_FIELDS:
            if name in attrs:
                fields[name] = self.decode(attrs[name])
            elif self.attrs(node) is None:
                fields[name] = _Opaque("not readable")
        fitted = any(k.endswith("_") and not k.startswith("_") for k in attrs)
        return AudioStepInfo(path=join_path(obj_path), cls=node_type_name(self.resolve(node)), fitted=fitted, **fields)


def is_node(value):
    """Whether a JSON value is a skops node (a dict with a string ``__loader__``)."""
    return isinstance(value, dict) and isinstance(value.get("__loader__"), str)


def _is_named_step(item):
    """A ``(name, estimator, ...)`` tuple, as in ``Pipeline.steps`` or ``FeatureUnion.transformer_list``."""
    if not (is_node(item) and item["__loader__"] == "TupleNode"):
        return False
    content = item.get("content")
    if not (
        isinstance(content, list)
        and len(content) >= 2
        and is_node(content[0])
        and content[0]["__loader__"] == "JsonNode"
        and is_node(content[1])
        and content[1]["__loader__"] == "ObjectNode"
    ):
        return False
    try:
        return isinstance(json.loads(content[0].get("content")), str)
    except (TypeError, ValueError):
        return False


def _nested_nodes(value):
    """The skops nodes inside a plain JSON value (a node's ``content``, ``__reduce__``, ...)."""
    if is_node(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _nested_nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nested_nodes(item)


def node_type_name(node):
    """The ``module.QualifiedName`` a skops node builds."""
    return f"{node.get('__module__')}.{node.get('__class__')}"
