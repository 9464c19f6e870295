"""Reading a skops file's ``schema.json`` without building anything: its nodes, in the order skops builds them."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib

from ..exceptions import UnreadableFileError
from ._info import _MAX_ARRAY_BYTES, _REFUSED_FIX, _STEP_FIELDS, AudioStepInfo, _joined, _one_line

# keys of a skops node that hold no child node
_META_KEYS = {"__class__", "__module__", "__loader__", "__id__", "is_json", "type", "file", "protocol",
              "_skops_version"}


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


def _unreadable(path, problem, fix=_REFUSED_FIX):
    return UnreadableFileError(f"{path!r} {problem}, so it cannot be loaded. {fix}")


def _skops_protocol():
    try:
        from skops.io._protocol import PROTOCOL
    except ImportError:  # pragma: no cover -- a skops without it: skops itself decides
        return None
    return PROTOCOL


class _Scan:
    """The nodes of a skops schema, walked in the order skops builds them.

    skops builds one object per ``__id__``: a node whose id was seen before
    (or a ``CachedNode``) stands for that earlier node, whatever it holds.
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
            raise _unreadable(path, "is empty (0 bytes)")
        try:
            with zipfile.ZipFile(path) as z:
                if "schema.json" not in z.namelist():
                    raise _unreadable(path, "is a zip archive without schema.json, not a skops file")
                raw = z.read("schema.json")
        except (PermissionError, IsADirectoryError):
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                struct.error, OSError) as exc:
            with open(path, "rb") as f:
                head = f.read(4)
            problem = ("is a damaged or truncated zip archive" if head == b"PK\x03\x04"
                       else "is not a zip archive (which a .skops file is)")
            raise _unreadable(path, f"{problem} ({type(exc).__name__}: {_one_line(exc)})") from exc
        try:
            schema = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise _unreadable(path, f"has a schema.json that is not valid JSON ({_one_line(exc)})") from exc
        if not isinstance(schema, dict) or not isinstance(schema.get("__loader__"), str):
            raise _unreadable(path, "has a schema.json that is not a skops schema")
        protocol = schema.get("protocol")
        if isinstance(protocol, bool) or not isinstance(protocol, int) or protocol < 0:
            raise _unreadable(path, f"has no valid skops protocol in its schema.json (got {protocol!r}), "
                                    "so it was not written by skops")
        newest = _skops_protocol()
        if newest is not None and protocol > newest:
            import skops

            raise _unreadable(
                path, f"was written with skops protocol {protocol}, newer than this skops "
                      f"({skops.__version__}) reads (up to protocol {newest})",
                "Update skops (pip install -U skops), or re-save the pipeline with zsfuse.save(pipe, path) "
                "with the skops installed here.",
            )
        try:
            return cls(path, schema)
        except RecursionError as exc:  # pragma: no cover -- the walk is iterative; decoding nests
            raise _unreadable(path, "has a schema.json nested too deeply") from exc

    def _walk(self):
        # (node, path, named): ``named`` marks a (name, estimator, ...) tuple whose items take its path
        stack = [(self.root, (), False)]
        while stack:
            node, path, named = stack.pop()
            if not _is_node(node):
                raise _unreadable(self.path, "has a schema.json with a malformed node")
            loader, saved_id = node["__loader__"], node.get("__id__")
            try:
                hash(saved_id)
            except TypeError:
                raise _unreadable(self.path, f"has a schema.json with a malformed object id {saved_id!r}") from None
            if loader == "CachedNode":
                if saved_id not in self.memo:
                    raise _unreadable(self.path, "refers to an object it does not define (CachedNode)")
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
                self.types.add(_type_name(node))
            if loader == "ObjectNode":
                self.objects.append((path, node))
            children = list(self._children(node, path, named))
            stack.extend(reversed(children))

    def _children(self, node, path, named):
        loader = node["__loader__"]
        content = node.get("content")
        if loader == "DictNode":
            if _is_node(node.get("key_types")):
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
        if _is_node(node):
            try:
                return self.memo.get(node.get("__id__"), node)
            except TypeError:  # an unhashable id: skops cannot read it either
                return node
        return node

    def attrs(self, node):
        """Attribute name -> value node of an ObjectNode (None when not a plain dict)."""
        content = self.resolve(node).get("content")
        content = self.resolve(content) if _is_node(content) else None
        if content is None or content.get("__loader__") != "DictNode" or not isinstance(content.get("content"), dict):
            return None
        return content["content"]

    def decode(self, node, depth=0):
        """The value skops would build for ``node``, for plain values; an :class:`_Opaque` otherwise."""
        node = self.resolve(node)
        if not _is_node(node) or depth > 20:
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
        return _Opaque(_type_name(node))

    def _array(self, node):
        import numpy as np

        with zipfile.ZipFile(self.path) as z:
            info = z.getinfo(node["file"])
            if info.file_size > _MAX_ARRAY_BYTES:
                return _Opaque(_type_name(node))
            value = np.load(io.BytesIO(z.read(info)), allow_pickle=False)
        return value.item() if value.ndim == 0 else _Opaque(f"{_type_name(node)} of shape {value.shape}")

    def step_info(self, obj_path, node):
        attrs = self.attrs(node) or {}
        fields = {}
        for name in _STEP_FIELDS:
            if name in attrs:
                fields[name] = self.decode(attrs[name])
            elif self.attrs(node) is None:
                fields[name] = _Opaque("not readable")
        fitted = any(k.endswith("_") and not k.startswith("_") for k in attrs)
        return AudioStepInfo(path=_joined(obj_path), cls=_type_name(self.resolve(node)), fitted=fitted, **fields)


def _is_node(value):
    return isinstance(value, dict) and isinstance(value.get("__loader__"), str)


def _is_named_step(item):
    """A ``(name, estimator, ...)`` tuple, as in ``Pipeline.steps`` or ``FeatureUnion.transformer_list``."""
    if not (_is_node(item) and item["__loader__"] == "TupleNode"):
        return False
    content = item.get("content")
    if not (isinstance(content, list) and len(content) >= 2 and _is_node(content[0])
            and content[0]["__loader__"] == "JsonNode" and _is_node(content[1])
            and content[1]["__loader__"] == "ObjectNode"):
        return False
    try:
        return isinstance(json.loads(content[0].get("content")), str)
    except (TypeError, ValueError):
        return False


def _nested_nodes(value):
    """The skops nodes inside a plain JSON value (a node's ``content``, ``__reduce__``, ...)."""
    if _is_node(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _nested_nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nested_nodes(item)


def _type_name(node):
    return f"{node.get('__module__')}.{node.get('__class__')}"
