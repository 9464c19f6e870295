"""Tokenizer files written offline: a byte-level BPE vocabulary and a small WordPiece vocabulary.

The BPE vocabulary has the format of GPT-2's and RoBERTa's ``vocab.json`` +
``merges.txt`` and is learned deterministically from a fixed corpus; being
byte-level, it covers every byte, so any text can be tokenised.
"""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

_BPE_CORPUS = """
this person is feeling angry. this person is feeling happy. this person is feeling sad.
this person is feeling neutral. this person is feeling calm. this person is feeling fearful.
this person is feeling disgusted. this person is feeling surprised. this person is feeling excited.
this person is feeling frustrated. this person is feeling bored. this person is feeling anxious.
a person speaking in an angry voice. a person speaking in a happy voice. a person speaking in a sad voice.
a person speaking in a neutral voice. a person speaking in a calm voice. a person speaking in a fearful voice.
the speaker sounds angry. the speaker sounds happy. the speaker sounds sad. the speaker sounds neutral.
this is a sound of speech. this is a sound of an angry person. this is a sound of a happy person.
this is a sound of music. this is a sound of noise. this is a sound of a dog barking.
an angry man shouting. a happy woman laughing. a sad child crying. a calm voice talking.
anger happiness sadness neutrality fear disgust surprise excitement frustration contempt.
the emotion of the speech is anger. the emotion of the speech is happiness. the emotion of the speech is sadness.
"""

_BPE_NUM_MERGES = 400
#: GPT-2's end-of-text token (the last id of the GPT-2 flavour of :func:`write_bpe_files`).
GPT2_EOS = "<|endoftext|>"
_ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
_ROBERTA_MASK = "<mask>"


def _bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map, in GPT-2's order."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def _learn_bpe(corpus=_BPE_CORPUS, num_merges=_BPE_NUM_MERGES):
    """Learn byte-level BPE merges; ties broken lexicographically (deterministic).

    Returns the token list (256 byte tokens in GPT-2 order, then one token per
    merge) and the merges, as pairs.
    """
    b2u = _bytes_to_unicode()
    words = collections.Counter(re.findall(r" ?[a-z]+| ?[0-9]+| ?[^\sa-z0-9]+", corpus.lower()))
    seqs = {w: tuple(b2u[b] for b in w.encode("utf-8")) for w in words}
    merges = []
    for _ in range(num_merges):
        pairs = collections.Counter()
        for w, count in words.items():
            s = seqs[w]
            for pair in zip(s, s[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        for w in words:
            s, out, i = seqs[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = tuple(out)
    tokens = list(b2u.values()) + [a + b for a, b in merges]
    return tokens, merges


def write_bpe_files(folder, flavour):
    """Write ``vocab.json`` and ``merges.txt`` for a "roberta" or "gpt2" tokenizer.

    RoBERTa flavour: ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, byte and
    merge tokens, ``<mask>`` last (the layout of ``roberta-base``).
    GPT-2 flavour: byte tokens first (so ``"!"`` is id 0, as in ``gpt2``: msclap
    relies on it), merge tokens, ``<|endoftext|>`` last.

    Parameters
    ----------
    folder : str or path-like
        Where to write (created if missing).
    flavour : {"roberta", "gpt2"}
        The vocabulary layout, see above.

    Returns
    -------
    int
        The vocabulary size.
    """
    tokens, merges = _learn_bpe()
    if flavour == "roberta":
        vocab = [*_ROBERTA_SPECIALS, *tokens, _ROBERTA_MASK]
    else:
        vocab = [*tokens, GPT2_EOS]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "vocab.json", "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(folder / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in merges)
    return len(vocab)


def wordpiece_vocab():
    """A small lowercase WordPiece vocabulary covering any ASCII text.

    Returns
    -------
    list of str
        BERT's special tokens first, then the printable non-uppercase ASCII
        characters, their ``##`` continuations (alphanumeric ones), and the
        words of the BPE corpus.
    """
    words = sorted(set(re.findall(r"[a-z]+", _BPE_CORPUS.lower())))
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    return (
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + chars
        + ["##" + c for c in chars if c.isalnum()]
        + [w for w in words if len(w) > 1]
    )


def write_bert_tokenizer(folder):
    """Write a lowercase BERT WordPiece tokenizer (:func:`wordpiece_vocab`) into ``folder``.

    Parameters
    ----------
    folder : str or path-like
        Created if missing; ``vocab.txt`` is written into it.

    Returns
    -------
    transformers.BertTokenizerFast
        The tokenizer (``model_max_length=512``), not yet saved with
        ``save_pretrained``.
    """
    from pathlib import Path

    from transformers import BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(wordpiece_vocab()) + "\n")
    return BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True, model_max_length=512)
