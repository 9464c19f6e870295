"""Parameters declared once: scikit-learn constraints that scikit-learn lacks, and the
docstring text of the parameters that several estimators share.

Estimators declare ``_parameter_constraints`` the scikit-learn way
(:class:`sklearn.utils._param_validation.Interval`, ``StrOptions``, ...) and
extend their base class's dict; the constraints below are the few that the
stock ones cannot say. :func:`fill_doc` writes the shared entries into a
docstring, so that a parameter two estimators share is documented once.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .models import DTYPE_NAMES

__all__ = ["PARAMETER_DOCS", "Devices", "Dtypes", "NumberNotBool", "fill_doc"]


class NumberNotBool(Interval):
    """An :class:`~sklearn.utils._param_validation.Interval` that ``True``, ``False`` and numpy booleans do not satisfy.

    ``bool`` is a subclass of ``int``, so scikit-learn's interval of integers
    (or reals) takes ``True`` for 1; here a flag is never a number.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real}
        The numbers of the interval, as for ``Interval``.
    left, right : float, int or None
        The bounds (None: unbounded).
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval, as for ``Interval``.
    """

    def is_satisfied_by(self, val):
        """Whether ``val`` is a number in the interval, and not a bool.

        Parameters
        ----------
        val : object
            A parameter value.

        Returns
        -------
        bool
        """
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)

    def __str__(self):
        text = super().__str__().replace("a float", "a number", 1).replace("an int", "an integer", 1)
        if self.left is None and self.right is None:  # "an integer", not "an integer in the range (-inf, inf)"
            text = text.split(" in the range ")[0]
        return text + " (not a bool)"


def _torch_object(val, kind):
    """Whether ``val`` is a ``torch.device`` / ``torch.dtype``, without importing torch."""
    return type(val).__module__ == "torch" and type(val).__name__ == kind


class Devices(StrOptions):
    """A torch device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` (or a ``torch.device``).

    Whether this machine has that device is checked when ``fit`` starts, before
    any model loads (:func:`zsfuse.models.resolve_device`).
    """

    def __init__(self):
        super().__init__({"auto", "cpu", "cuda", "mps"})

    def is_satisfied_by(self, val):
        name = str(val) if _torch_object(val, "device") else val
        return isinstance(name, str) and (name in self.options or re.fullmatch(r"cuda:\d+", name) is not None)

    def __str__(self):
        return "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"


class Dtypes(StrOptions):
    """A compute dtype: ``"auto"``, ``"float32"``, ``"float16"``, ``"bfloat16"``.

    Also taken, undocumented: the short names ``"fp32"``, ``"fp16"``,
    ``"half"``, ``"bf16"`` and a ``torch.dtype`` (which
    :func:`zsfuse.models.resolve_dtype` checks to be a floating one).
    """

    def __init__(self):
        super().__init__({"auto", "float32", "float16", "bfloat16"})
        #: Other names :func:`zsfuse.models.resolve_dtype` reads.
        self.aliases = frozenset(DTYPE_NAMES) - self.options

    def is_satisfied_by(self, val):
        if _torch_object(val, "dtype"):
            return True
        return isinstance(val, str) and (val in self.options or val in self.aliases)

    def __str__(self):
        return "'auto', 'float32', 'float16' or 'bfloat16'"


#: Docstring entries of the parameters both audio transformers take, written once
#: (numpydoc, unindented; :func:`fill_doc` indents them).
PARAMETER_DOCS = {
    "sampling_rate": """\
sampling_rate : int, optional
    Rate in Hz of the arrays in ``X``, required when ``X`` holds arrays: it
    is never guessed from the model (a pipeline whose steps guessed would
    read one array at two rates). Files carry their own rate. Everything is
    resampled to the model's rate.""",
    "device": """\
device : str, default="auto"
    ``"auto"`` (the first CUDA GPU when there is one, else the CPU),
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (Apple GPUs). A device
    this machine lacks fails in ``fit``, before any model loads.""",
    "dtype": """\
dtype : str, default="auto"
    ``"auto"``: float16 on CUDA, float32 elsewhere; or ``"float32"``,
    ``"float16"``, ``"bfloat16"``. Half precision runs under
    ``torch.autocast`` (weights stay float32; normalisations and softmax stay
    float32).""",
    "batch_size": """\
batch_size : int or "auto", default="auto"
    Most pieces of audio per forward pass (model windows for the zero-shot
    transformer; clips or chunks for FM embeddings): bounds memory whatever
    the number of clips. ``"auto"`` follows the device: 4 on a CPU (where a
    pass costs about the same per piece whatever the batch, so larger ones
    only take more memory), 64 on CUDA, 16 on MPS. An integer is used as
    given. Results do not depend on it.""",
    "cache_dir": """\
cache_dir : str or path-like, optional
    Folder of the on-disk embedding store, shared across processes and runs.""",
    "progress": """\
progress : bool, default=False
    Show a progress bar while clips are encoded.""",
    "revision": """\
revision : str, optional
    Hub revision (branch, tag or commit) of ``model``.""",
    "trust_remote_code": """\
trust_remote_code : bool, default=False
    Let a transformers checkpoint run Python code it ships. Only a real
    ``True`` grants it.""",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(obj):
    """Replace each line ``%(name)s`` of a docstring by the shared entry ``name``.

    The entry (from :data:`PARAMETER_DOCS`) is indented like the placeholder
    line; nothing else in the docstring changes (its braces and percent signs
    included). Used as a class or function decorator.

    Parameters
    ----------
    obj : class or function
        Its ``__doc__`` is rewritten in place (nothing happens under
        ``python -OO``, which drops docstrings).

    Returns
    -------
    class or function
        ``obj`` itself.

    Raises
    ------
    KeyError
        If a placeholder names no shared entry (at import: a typo cannot ship).
    """

    def entry(match):
        lines = PARAMETER_DOCS[match["name"]].splitlines()
        return "\n".join(match["indent"] + line if line else line for line in lines)

    if obj.__doc__:
        obj.__doc__ = _PLACEHOLDER.sub(entry, obj.__doc__)
    return obj
