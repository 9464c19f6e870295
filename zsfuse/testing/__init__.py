"""Tiny, offline, deterministic test models and generated test audio.

Everything here builds without the network and in seconds: the model builders
create randomly initialised models from small configurations and save them
with ``save_pretrained`` (or, for msclap, in msclap's own checkpoint format),
so that tests load them back through exactly the code path a hub id takes.
The audio generators use numpy only.

Importing this package is cheap: torch, transformers and msclap are imported
inside the functions that need them.

Every builder is seeded: the same call gives identical weights (within one
installed version of torch and transformers). Builders run inside
``torch.random.fork_rng``, so they leave the global torch random state alone.

One module per concern: ``_tokenizers`` (offline BPE and WordPiece
vocabularies), ``_clap`` (tiny transformers CLAP), ``_clsp`` (a tiny CLSP-style
model folder whose code ships in it, loaded with ``trust_remote_code``),
``_laion_ckpt`` (a tiny CLAP saved as LAION-CLAP's training code saves it),
``_paraclap`` (a tiny ParaCLAP checkpoint with its wav2vec 2.0 and BERT folders), ``_speech`` (tiny WavLM,
HuBERT, wav2vec 2.0, data2vec-audio and Whisper), ``_msclap`` (tiny msclap),
``_audio`` (generated audio), ``_corpus`` (labelled clip folders and the demo
corpus), ``_build`` (the seeded random state and output folder every builder
uses).

The sizes of the tiny models are module constants, not in ``__all__``:
``TINY_CLAP_PROJECTION_DIM``, ``TINY_CLAP_LOGIT_SCALE_A``,
``TINY_CLAP_LOGIT_SCALE_T`` and ``TINY_MSCLAP_TEXT_DIM``.

Examples
--------
>>> from zsfuse.testing import make_tiny_wavlm, speechlike, write_wav
>>> folder = make_tiny_wavlm("/tmp/tiny-wavlm")            # doctest: +SKIP
>>> wave = speechlike(1.0, 16000, contour="fall")
>>> wave.shape, wave.dtype
((16000,), dtype('float32'))
"""

from ._audio import chirp, noise_burst, speechlike, tone, write_wav
from ._clap import TINY_CLAP_LOGIT_SCALE_A as TINY_CLAP_LOGIT_SCALE_A
from ._clap import TINY_CLAP_LOGIT_SCALE_T as TINY_CLAP_LOGIT_SCALE_T
from ._clap import TINY_CLAP_PROJECTION_DIM as TINY_CLAP_PROJECTION_DIM
from ._clap import make_tiny_clap
from ._clsp import TINY_CLSP_EMBED_DIM as TINY_CLSP_EMBED_DIM
from ._clsp import make_tiny_clsp
from ._corpus import make_audio_tree, write_demo_corpus
from ._laion_ckpt import TinyLaionCheckpoint, make_tiny_laion_checkpoint
from ._msclap import TINY_MSCLAP_TEXT_DIM as TINY_MSCLAP_TEXT_DIM
from ._msclap import TinyMSCLAP, make_tiny_msclap, msclap_reference_wrapper
from ._paraclap import TINY_PARACLAP_EMBED_DIM as TINY_PARACLAP_EMBED_DIM
from ._paraclap import TinyParaCLAP, make_tiny_paraclap
from ._speech import (
    make_tiny_data2vec,
    make_tiny_hubert,
    make_tiny_wav2vec2,
    make_tiny_wavlm,
    make_tiny_whisper,
)

__all__ = [
    "TinyLaionCheckpoint",
    "TinyMSCLAP",
    "TinyParaCLAP",
    "chirp",
    "make_audio_tree",
    "make_tiny_clap",
    "make_tiny_clsp",
    "make_tiny_data2vec",
    "make_tiny_hubert",
    "make_tiny_laion_checkpoint",
    "make_tiny_msclap",
    "make_tiny_paraclap",
    "make_tiny_wav2vec2",
    "make_tiny_wavlm",
    "make_tiny_whisper",
    "msclap_reference_wrapper",
    "noise_burst",
    "speechlike",
    "tone",
    "write_demo_corpus",
    "write_wav",
]
