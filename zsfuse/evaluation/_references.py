"""What a run of ``zsfuse evaluate`` should cite: zsfuse, the ZS-Fuse paper, its models and its corpus.

:data:`REFERENCES` is the one table of citations; :func:`references_for`
picks the entries a results dict calls for, by the rules of each entry:

* a model matches by its fingerprint's family tag, the text before the first
  ``:`` (``"msclap-2023"``, ``"hf-clap"``, or a speech model's
  ``config.model_type``: ``"wavlm"``, ``"hubert"``, ...), else by its model
  id (``"msclap-2023"``, ``"laion/..."``, ``"microsoft/wavlm-large"``);
* a corpus matches by the dataset's name, and an EmoBox run also by the
  EmoBox dataset it read (``dataset["info"]["emobox_dataset"]``).

A model or corpus that no entry matches (a local folder, a manifest) is
named with the advice to cite its own paper. Every citation here was checked
against the authors' own pages or the papers' records; CITATION.cff lists
the same works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["REFERENCES", "Reference", "references_for"]


@dataclass(frozen=True)
class Reference:
    """One work to cite.

    Parameters
    ----------
    key : str
        Short identifier (``"wavlm"``).
    name : str
        What it is, as the report names it (``"WavLM"``).
    citation : str
        The citation, one line of plain text.
    kind : {"software", "method", "clap", "fm", "corpus"}
        Which part of a run it belongs to.
    tags : tuple of str, default=()
        Fingerprint family tags (models) or squashed dataset names (corpora)
        that select it, compared exactly.
    ids : str, default=""
        A regular expression searched, case-insensitively, in a model id.
    """

    key: str
    name: str
    citation: str
    kind: str
    tags: tuple = ()
    ids: str = ""

    def matches_id(self, model_id):
        """Whether a model id or path selects this entry (:attr:`ids` found in it).

        Parameters
        ----------
        model_id : str
            A model's id or path.

        Returns
        -------
        bool
        """
        return bool(self.ids) and re.search(self.ids, model_id, flags=re.IGNORECASE) is not None


_MS_CLAP_2022 = (
    "B. Elizalde, S. Deshmukh, M. Al Ismail and H. Wang. CLAP: Learning Audio Concepts from Natural "
    "Language Supervision. In Proc. IEEE ICASSP 2023. doi:10.1109/ICASSP49357.2023.10095889."
)

#: Every work zsfuse knows how to cite, in the order a report lists them.
REFERENCES = (
    Reference(
        "zsfuse",
        "zsfuse",
        "The zsfuse developers. zsfuse: zero-shot audio-language scores late-fused with "
        "speech foundation models, in scikit-learn. Cite it as its CITATION.cff says.",
        "software",
    ),
    Reference(
        "zs-fuse",
        "ZS-Fuse",
        "Prompt Amplification and Zero-Shot Late Fusion in Audio-Language Models for "
        "Speech Emotion Recognition (the ZS-Fuse paper; authors and venue: see zsfuse's CITATION.cff).",
        "method",
    ),
    Reference("ms-clap-2022", "MS-CLAP 2022", _MS_CLAP_2022, "clap", tags=("msclap-2022",), ids=r"^msclap-2022$"),
    Reference(
        "ms-clap-2023",
        "MS-CLAP 2023",
        "B. Elizalde, S. Deshmukh and H. Wang. Natural Language Supervision "
        "for General-Purpose Audio Representations. arXiv:2309.05767, 2023.",
        "clap",
        tags=("msclap-2023",),
        ids=r"^msclap-2023$",
    ),
    Reference(
        "laion-clap",
        "LAION-CLAP",
        "Y. Wu, K. Chen, T. Zhang, Y. Hui, T. Berg-Kirkpatrick and S. Dubnov. "
        "Large-scale Contrastive Language-Audio Pretraining with Feature Fusion and Keyword-to-Caption "
        "Augmentation. In Proc. IEEE ICASSP 2023. arXiv:2211.06687.",
        "clap",
        tags=("hf-clap", "laion-ckpt"),
        ids=r"^laion/",
    ),  # every transformers ClapModel has LAION-CLAP's architecture, and its training code wrote laion-ckpt files
    Reference(
        "reclap",
        "ReCLAP",
        "S. Ghosh, S. Kumar, C. K. R. Evuru, O. Nieto, R. Duraiswami and D. Manocha. ReCLAP: Improving "
        "Zero Shot Audio Classification by Describing Sounds. arXiv:2409.09213, 2024.",
        "clap",
        tags=("laion-ckpt",),
        ids=r"reclap",
    ),  # a LAION-CLAP training checkpoint named (or forced with reclap:) as ReCLAP's
    Reference(
        "clsp",
        "CLSP",
        "Y. Yang et al. Towards Fine-Grained and Multi-Granular Contrastive Language-Speech Pre-training. "
        "arXiv:2601.03065, 2026.",
        "clap",
        tags=("clsp",),
        ids=r"clsp",
    ),
    Reference(
        "paraclap",
        "ParaCLAP",
        "X. Jing, A. Triantafyllopoulos and B. W. Schuller. ParaCLAP -- Towards a general language-audio model "
        "for computational paralinguistic tasks. In Proc. Interspeech 2024. arXiv:2406.07203.",
        "clap",
        tags=("paraclap",),
        ids=r"paraclap",
    ),
    Reference(
        "wavlm",
        "WavLM",
        "S. Chen, C. Wang, Z. Chen, Y. Wu, S. Liu, Z. Chen, J. Li, N. Kanda, T. Yoshioka, "
        "X. Xiao, J. Wu, L. Zhou, S. Ren, Y. Qian, Y. Qian, J. Wu, M. Zeng, X. Yu and F. Wei. WavLM: "
        "Large-Scale Self-Supervised Pre-Training for Full Stack Speech Processing. IEEE Journal of Selected "
        "Topics in Signal Processing, 16(6):1505-1518, 2022.",
        "fm",
        tags=("wavlm",),
        ids=r"wavlm",
    ),
    Reference(
        "hubert",
        "HuBERT",
        "W.-N. Hsu, B. Bolte, Y.-H. H. Tsai, K. Lakhotia, R. Salakhutdinov and A. Mohamed. "
        "HuBERT: Self-Supervised Speech Representation Learning by Masked Prediction of Hidden Units. "
        "IEEE/ACM Transactions on Audio, Speech, and Language Processing, pp. 3451-3460, 2021.",
        "fm",
        tags=("hubert",),
        ids=r"hubert",
    ),
    Reference(
        "wav2vec2",
        "wav2vec 2.0",
        "A. Baevski, Y. Zhou, A. Mohamed and M. Auli. wav2vec 2.0: A Framework for "
        "Self-Supervised Learning of Speech Representations. In Advances in Neural Information Processing "
        "Systems (NeurIPS), 2020.",
        "fm",
        tags=("wav2vec2",),
        ids=r"wav2vec2",
    ),
    Reference(
        "data2vec",
        "data2vec",
        "A. Baevski, W.-N. Hsu, Q. Xu, A. Babu, J. Gu and M. Auli. data2vec: A General "
        "Framework for Self-supervised Learning in Speech, Vision and Language. arXiv:2202.03555, 2022.",
        "fm",
        tags=("data2vec-audio",),
        ids=r"data2vec",
    ),
    Reference(
        "whisper",
        "Whisper",
        "A. Radford, J. W. Kim, T. Xu, G. Brockman, C. McLeavey and I. Sutskever. Robust "
        "Speech Recognition via Large-Scale Weak Supervision. In Proc. ICML 2023, PMLR 202:28492-28518.",
        "fm",
        tags=("whisper",),
        ids=r"whisper",
    ),
    Reference(
        "emobox",
        "EmoBox",
        "Z. Ma, M. Chen, H. Zhang, Z. Zheng, W. Chen, X. Li, J. Ye, X. Chen and T. Hain. "
        "EmoBox: Multilingual Multi-corpus Speech Emotion Recognition Toolkit and Benchmark. In Proc. "
        "Interspeech 2024.",
        "corpus",
        tags=("emobox",),
    ),
    Reference(
        "ravdess",
        "RAVDESS",
        "S. R. Livingstone and F. A. Russo. The Ryerson Audio-Visual Database of "
        "Emotional Speech and Song (RAVDESS): A dynamic, multimodal set of facial and vocal expressions in "
        "North American English. PLoS ONE, 13(5):e0196391, 2018. doi:10.1371/journal.pone.0196391.",
        "corpus",
        tags=("ravdess",),
    ),
    Reference(
        "crema-d",
        "CREMA-D",
        "H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova and R. Verma. "
        "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset. IEEE Transactions on Affective Computing, "
        "5(4):377-390, 2014. doi:10.1109/TAFFC.2014.2336244.",
        "corpus",
        tags=("cremad", "crema"),
    ),
    Reference(
        "iemocap",
        "IEMOCAP",
        "C. Busso, M. Bulut, C.-C. Lee, A. Kazemzadeh, E. Mower, S. Kim, J. N. Chang, "
        "S. Lee and S. S. Narayanan. IEMOCAP: Interactive emotional dyadic motion capture database. Language "
        "Resources and Evaluation, 42(4):335-359, 2008. doi:10.1007/s10579-008-9076-6.",
        "corpus",
        tags=("iemocap",),
    ),
    Reference(
        "emo-db",
        "Emo-DB",
        "F. Burkhardt, A. Paeschke, M. Rolfes, W. F. Sendlmeier and B. Weiss. A database "
        "of German emotional speech. In Proc. Interspeech 2005.",
        "corpus",
        tags=("emodb", "berlin"),
    ),
    Reference(
        "tess",
        "TESS",
        "K. Dupuis and M. K. Pichora-Fuller. Toronto emotional speech set (TESS). University "
        "of Toronto, Psychology Department, 2010. doi:10.5683/SP2/E8H2MF.",
        "corpus",
        tags=("tess",),
    ),
    Reference(
        "msp-podcast",
        "MSP-Podcast",
        "R. Lotfian and C. Busso. Building Naturalistic Emotionally Balanced "
        "Speech Corpus by Retrieving Emotional Speech from Existing Podcast Recordings. IEEE Transactions on "
        "Affective Computing, 2019.",
        "corpus",
        tags=("msppodcast", "msp"),
    ),
)

_ROLES = (("clap", "CLAP model"), ("fm", "speech foundation model"))


def _squash(name):
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _model_reference(kind, record):
    """The entry of a model: by its fingerprint's family tag (what was loaded) and its id, then either alone.

    Tag and id together pick a model within a family (a ReCLAP file among
    LAION-CLAP training checkpoints); the tag alone, the family; the id alone,
    a model whose fingerprint carries no known tag.
    """
    tag = str(record.get("fingerprint") or "").split(":", 1)[0]
    model = str(record["model"])
    candidates = [reference for reference in REFERENCES if reference.kind == kind]
    found = (
        [r for r in candidates if tag in r.tags and r.matches_id(model)]
        or [r for r in candidates if tag in r.tags]
        or [r for r in candidates if r.matches_id(model)]
    )
    return found[0] if found else None


def _corpus_names(dataset):
    names = [dataset.get("name")]
    info = dataset.get("info")
    if isinstance(info, dict):
        names.append(info.get("emobox_dataset"))
    return [str(name) for name in names if name]


def _line(what, reference, unknown):
    if reference is None:
        return what, f"not a {unknown} zsfuse knows: cite the {unknown}'s own paper."
    return f"{what} ({reference.name})", reference.citation


def references_for(results):
    """The works a run's report should cite, one line each.

    Parameters
    ----------
    results : dict
        The results dict of ``zsfuse evaluate``; ``"models"`` (each role's
        ``"model"`` and ``"fingerprint"``) and ``"dataset"`` (``"name"``,
        ``"info"``) are read when present.

    Returns
    -------
    list of (str, str)
        ``(what, citation)`` pairs: zsfuse, the ZS-Fuse paper, then each
        model and corpus of the run. A model or corpus that no entry of
        :data:`REFERENCES` matches gets the advice to cite its own paper.
    """
    by_key = {reference.key: reference for reference in REFERENCES}
    lines = [(by_key[key].name, by_key[key].citation) for key in ("zsfuse", "zs-fuse")]
    models = results.get("models") or {}
    for kind, role in _ROLES:
        record = models.get(kind)
        if isinstance(record, dict) and record.get("model"):
            lines.append(_line(f"{role} `{record['model']}`", _model_reference(kind, record), "model"))
    for name in _corpus_names(results.get("dataset") or {}):
        found = [r for r in REFERENCES if r.kind == "corpus" and _squash(name) in r.tags]
        lines.append(_line(f"corpus `{name}`", found[0] if found else None, "corpus"))
    return lines
