"""Saving, inspecting and loading fitted zsfuse estimators and pipelines with skops.

The functions live in ``_io`` (save, inspect, load), what :func:`inspect`
returns in ``_info``, the schema reader in ``_schema`` and the trust checks in
``_objects``. ``docs/persistence.md`` has the security note.
"""

from ..exceptions import UntrustedTypesError
from ._info import AUDIO_STEP_TYPES, TRUSTED_TYPES, AudioStepInfo, SavedFileInfo
from ._io import inspect, load, save

__all__ = [
    "AUDIO_STEP_TYPES",
    "TRUSTED_TYPES",
    "AudioStepInfo",
    "SavedFileInfo",
    "UntrustedTypesError",
    "inspect",
    "load",
    "save",
]
