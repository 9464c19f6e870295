"""Transformers that fail as workers do: killed on a marked clip, or computing under another namespace.

Importable by worker processes (tests/ is on their sys.path), so that loky,
Dask and Ray unpickle it by reference.
"""

import os

from zsfuse import FMEmbeddingTransformer


class KillingFMTransformer(FMEmbeddingTransformer):
    """Exits its process, as a killed worker would, when a shard holds a clip marked by a file ``<clip>.kill``.

    The marker is removed first: the worker dies once, and a retry of the shard succeeds.
    """

    def _embed_clips(self, clips, **kwargs):
        for i in range(len(clips)):
            marker = f"{clips.path(i)}.kill"
            if os.path.exists(marker):
                os.remove(marker)
                os._exit(17)
        return super()._embed_clips(clips, **kwargs)


class DriftingFMTransformer(FMEmbeddingTransformer):
    """Reports another namespace for any shard that holds clips, as a worker on another device type would."""

    def _embed_clips(self, clips, **kwargs):
        namespace, vectors = super()._embed_clips(clips, **kwargs)
        return (namespace + "|elsewhere" if len(clips) else namespace), vectors
