"""A tiny random CLSP-like dual encoder whose code ships in its folder (``trust_remote_code``).

CLSP (Yang et al. 2026, arXiv 2601.03065; hub id ``yfyeung/CLSP``) is loaded
with ``AutoModel.from_pretrained(..., trust_remote_code=True)`` and called as
its README shows: ``model(audio, audio_lens)`` with 16 kHz waveforms of shape
``(N, T)`` zero-padded to the longest and ``audio_lens`` their sample counts,
and ``model(text=[...])`` with raw strings (the model tokenises); both return
``(audio_embedding, text_embedding, third)``, where the published training code
(``yfyeung/icefall``, ``egs/emilia/CLAP/spear_roberta/model.py``) returns
L2-normalised embeddings and ``logit_scale.exp()`` third.

:func:`make_tiny_clsp` writes a folder that follows that contract with code
of its own (``configuration_clsp.py``, ``modeling_clsp.py``, named by the
``auto_map`` of its ``config.json``), so that tests load it through the real
transformers remote-code path.
"""

from __future__ import annotations

from ._build import prepare_folder, seeded
from ._tokenizers import write_bpe_files

#: Width of the tiny CLSP's joint embedding space.
TINY_CLSP_EMBED_DIM = 16
#: Stored (log) temperature of the tiny CLSP: ``log(1 / 0.07)``, the training
#: code's initial value; the forward returns its exponential third.
TINY_CLSP_LOGIT_SCALE = 2.659260036932778
#: Longest token sequence of the tiny CLSP's text tower (its tokenizer's ``model_max_length``).
TINY_CLSP_MAX_TEXT_TOKENS = 77

_AUTO_MAP = {"AutoConfig": "configuration_clsp.CLSPConfig", "AutoModel": "modeling_clsp.CLSPModel"}

_CONFIGURATION = '''\
"""Configuration of a tiny CLSP-like dual encoder (zsfuse.testing.make_tiny_clsp)."""

from transformers import PretrainedConfig


class CLSPConfig(PretrainedConfig):
    """Sizes of the tiny model; ``model_type`` "clsp"."""

    model_type = "clsp"

    def __init__(
        self,
        sampling_rate=16000,
        frame_length=400,
        frame_shift=160,
        audio_channels=24,
        audio_hidden=32,
        vocab_size=512,
        text_hidden=32,
        max_text_tokens=77,
        joint_dim=16,
        logit_scale_init=2.659260036932778,
        **kwargs,
    ):
        self.sampling_rate = sampling_rate
        self.frame_length = frame_length
        self.frame_shift = frame_shift
        self.audio_channels = audio_channels
        self.audio_hidden = audio_hidden
        self.vocab_size = vocab_size
        self.text_hidden = text_hidden
        self.max_text_tokens = max_text_tokens
        self.joint_dim = joint_dim
        self.logit_scale_init = logit_scale_init
        super().__init__(**kwargs)
'''

_MODELING = '''\
"""A tiny CLSP-like dual encoder (zsfuse.testing.make_tiny_clsp).

Called as CLSP's README shows: ``model(audio, audio_lens)`` with waveforms of
shape (N, T) and their lengths in samples, ``model(text=[...])`` with strings;
returns ``(audio_embedding, text_embedding, logit_scale.exp())``, the
embeddings L2-normalised (None for a modality not given).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import PreTrainedModel, RobertaTokenizerFast

from .configuration_clsp import CLSPConfig


class CLSPModel(PreTrainedModel):
    """Audio: framing conv over the samples, a context conv, mean over the valid frames, MLP.

    Every step is masked by the lengths, so zero padding (or anything past a
    clip's length) never reaches its embedding. Text: token and position
    embeddings, LayerNorm, a GELU layer, mean over the real tokens, MLP.
    """

    config_class = CLSPConfig
    base_model_prefix = "clsp"
    main_input_name = "audio"

    def __init__(self, config):
        super().__init__(config)
        self.frame = nn.Conv1d(1, config.audio_channels, config.frame_length, stride=config.frame_shift)
        self.context = nn.Conv1d(config.audio_channels, config.audio_hidden, 3, padding=1)
        self.audio_projection = nn.Sequential(
            nn.Linear(config.audio_hidden, config.joint_dim), nn.ReLU(), nn.Linear(config.joint_dim, config.joint_dim)
        )
        self.token_embedding = nn.Embedding(config.vocab_size, config.text_hidden)
        self.position_embedding = nn.Embedding(config.max_text_tokens, config.text_hidden)
        self.text_norm = nn.LayerNorm(config.text_hidden)
        self.text_layer = nn.Linear(config.text_hidden, config.text_hidden)
        self.text_projection = nn.Sequential(
            nn.Linear(config.text_hidden, config.joint_dim), nn.ReLU(), nn.Linear(config.joint_dim, config.joint_dim)
        )
        self.logit_scale = nn.Parameter(torch.tensor(float(config.logit_scale_init)))
        self._tokenizer = None
        self.post_init()

    @property
    def tokenizer(self):
        """The tokenizer saved beside the weights (loaded on first use)."""
        if self._tokenizer is None:
            self._tokenizer = RobertaTokenizerFast.from_pretrained(self.config.name_or_path)
        return self._tokenizer

    def embed_audio(self, audio, audio_lens=None):
        cfg = self.config
        if audio.dim() == 1:
            audio = audio[None]
        audio = audio.to(self.frame.weight.dtype)
        if audio_lens is None:
            audio_lens = torch.full((audio.shape[0],), audio.shape[1], dtype=torch.long)
        lens = torch.as_tensor(audio_lens, device=audio.device).long()
        if audio.shape[1] < cfg.frame_length:
            audio = F.pad(audio, (0, cfg.frame_length - audio.shape[1]))
        samples = torch.arange(audio.shape[1], device=audio.device)
        audio = audio * (samples[None] < lens[:, None]).to(audio.dtype)
        x = F.gelu(self.frame(audio[:, None]))
        n_frames = (lens - cfg.frame_length).clamp(min=0) // cfg.frame_shift + 1
        mask = (torch.arange(x.shape[-1], device=x.device)[None] < n_frames[:, None]).to(x.dtype)[:, None]
        x = F.gelu(self.context(x * mask)) * mask
        pooled = x.sum(-1) / n_frames[:, None].to(x.dtype)
        return F.normalize(self.audio_projection(pooled), dim=-1)

    def embed_text(self, text):
        tokens = self.tokenizer(
            list(text), padding=True, truncation=True, max_length=self.config.max_text_tokens, return_tensors="pt"
        )
        device = self.token_embedding.weight.device
        ids = tokens["input_ids"].to(device)
        mask = tokens["attention_mask"].to(device)[..., None]
        positions = torch.arange(ids.shape[1], device=device)
        h = self.text_norm(self.token_embedding(ids) + self.position_embedding(positions)[None])
        h = F.gelu(self.text_layer(h))
        mask = mask.to(h.dtype)
        pooled = (h * mask).sum(1) / mask.sum(1)
        return F.normalize(self.text_projection(pooled), dim=-1)

    def forward(self, audio=None, audio_lens=None, text=None):
        audio_embedding = None if audio is None else self.embed_audio(audio, audio_lens)
        text_embedding = None if text is None else self.embed_text(text)
        return audio_embedding, text_embedding, self.logit_scale.exp()
'''


def make_tiny_clsp(path, seed=0, *, logit_scale=TINY_CLSP_LOGIT_SCALE, import_marker=None):
    """Build a tiny random CLSP-like model whose code ships in ``path``.

    The folder holds ``config.json`` (``model_type`` ``"clsp"``, ``auto_map``
    ``{"AutoConfig": "configuration_clsp.CLSPConfig", "AutoModel":
    "modeling_clsp.CLSPModel"}``, ``architectures`` ``["CLSPModel"]``), the two
    Python files it names, the weights (``save_pretrained``) and a byte-level
    BPE ``RobertaTokenizerFast`` (``model_max_length=77``) built offline. So
    ``AutoModel.from_pretrained(path, trust_remote_code=True)`` loads it through
    the real transformers remote-code path, with transformers 4.x and 5.x.

    The model follows CLSP's published call signature (see the module
    docstring): ``model(audio, audio_lens)`` takes 16 kHz waveforms of shape
    ``(N, T)`` and their lengths in samples, ``model(text=[...])`` strings;
    both return ``(audio_embedding, text_embedding, logit_scale.exp())`` with
    L2-normalised ``(N, 16)`` embeddings. The audio tower frames the samples
    with a convolution (25 ms windows, 10 ms hop), runs a context convolution
    and means over the valid frames; everything past a clip's length is
    masked, so padding a batch never changes a clip's embedding. Clips of any
    length from one sample are accepted.

    Parameters
    ----------
    path : str or path-like
        Folder to write to (created if missing; existing files are overwritten).
    seed : int, default=0
        Seed of the random weights. The same seed gives identical weights.
    logit_scale : float, default=log(1 / 0.07)
        Stored temperature (the forward returns its exponential). Set after the
        random initialisation, without drawing from the random generator.
    import_marker : str or path-like, optional
        When given, ``modeling_clsp.py`` writes this file when it is imported:
        a test can tell whether the folder's code ran. Keep it outside
        ``path`` (the folder's content keys the embedding store).

    Returns
    -------
    str
        ``path``, as a string.
    """
    import torch
    from transformers import RobertaTokenizerFast
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    folder = prepare_folder(path)
    vocab_size = write_bpe_files(folder, "roberta")
    tokenizer = RobertaTokenizerFast.from_pretrained(str(folder), model_max_length=TINY_CLSP_MAX_TEXT_TOKENS)
    tokenizer.save_pretrained(str(folder))
    (folder / "configuration_clsp.py").write_text(_CONFIGURATION, encoding="utf-8")
    (folder / "modeling_clsp.py").write_text(_MODELING, encoding="utf-8")
    # the classes come from the folder's own files, through transformers' remote-code loader
    config_class = get_class_from_dynamic_module(_AUTO_MAP["AutoConfig"], str(folder), local_files_only=True)
    model_class = get_class_from_dynamic_module(_AUTO_MAP["AutoModel"], str(folder), local_files_only=True)
    config = config_class(
        vocab_size=vocab_size,
        max_text_tokens=TINY_CLSP_MAX_TEXT_TOKENS,
        joint_dim=TINY_CLSP_EMBED_DIM,
        logit_scale_init=float(logit_scale),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        auto_map=dict(_AUTO_MAP),
    )
    with seeded(seed):
        model = model_class(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(float(logit_scale))
    model.save_pretrained(str(folder))
    if import_marker is not None:
        line = f"\nimport pathlib as _pathlib\n\n_pathlib.Path({str(import_marker)!r}).write_text('imported')\n"
        with open(folder / "modeling_clsp.py", "a", encoding="utf-8") as f:
            f.write(line)
    return str(folder)
