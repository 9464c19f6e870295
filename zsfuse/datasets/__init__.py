"""Speech emotion datasets: clips, labels, speakers and the protocol's folds,
read from files you already have.

The loaders only list and parse: nothing is downloaded and no audio is
decoded. Every loader returns a :class:`Dataset` whose folds are
speaker-independent (checked), with class maps as parameters; unknown emotion
codes, files that do not follow a corpus's naming scheme, and missing files
raise :class:`DatasetError` naming the files. Codes that a protocol leaves out
(e.g. IEMOCAP's frustration) are not errors: they are counted in
``Dataset.info["excluded"]``.

Importing this package is cheap: it needs numpy and the standard library only.

Examples
--------
>>> from zsfuse.datasets import load_dataset
>>> ds = load_dataset("ravdess", "/data/RAVDESS")                 # doctest: +SKIP
>>> print(ds.describe())                                          # doctest: +SKIP
>>> for fold in ds.folds:                                         # doctest: +SKIP
...     train_paths = [ds.paths[i] for i in fold.train]
...     y_train = ds.labels[fold.train]

See ``docs/datasets.md`` for each corpus's layout, class map and folds.
"""

from ..exceptions import DatasetError
from ..exceptions import DatasetOptionError as DatasetOptionError
from ._base import AUDIO_EXTENSIONS, Dataset, Fold
from ._corpora import EMOBOX_RAVDESS_FOLDS, load_crema_d, load_emo_db, load_ravdess, load_tess
from ._emobox import load_emobox
from ._iemocap import load_iemocap
from ._manifest import load_folders, load_manifest
from ._msp import load_msp_podcast
from ._registry import DATASETS, load_dataset

__all__ = [
    "AUDIO_EXTENSIONS",
    "DATASETS",
    "EMOBOX_RAVDESS_FOLDS",
    "Dataset",
    "DatasetError",
    "Fold",
    "load_crema_d",
    "load_dataset",
    "load_emo_db",
    "load_emobox",
    "load_folders",
    "load_iemocap",
    "load_manifest",
    "load_msp_podcast",
    "load_ravdess",
    "load_tess",
]
