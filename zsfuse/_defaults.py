"""The default models, named once: every estimator, builder and command takes them from here."""

from __future__ import annotations

__all__ = ["DEFAULT_CLAP_MODEL", "DEFAULT_FM_MODEL"]

#: The zero-shot model of :class:`~zsfuse.CLAPZeroShotTransformer`, ``make_zsfuse_pipeline``,
#: ``zsfuse.evaluation.evaluate`` and the command line (MS-CLAP 2023, through msclap).
DEFAULT_CLAP_MODEL = "msclap-2023"

#: The speech foundation model of :class:`~zsfuse.FMEmbeddingTransformer` and the same places.
DEFAULT_FM_MODEL = "microsoft/wavlm-large"
