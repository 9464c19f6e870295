"""Encode-once extraction: clips and prompts through the store, batch by batch.

Both transformers call :func:`encode_clips` and :func:`encode_texts`; they only
supply the encoder. Work is written to the store after every batch, so an
interrupted extraction resumes from what it finished.
"""

from __future__ import annotations

import numpy as np

from ._memory import trim_heap
from .audio import Clips

__all__ = ["encode_clips", "encode_texts"]


def _progress(total, desc, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="clip", disable=not enabled, leave=False)


def encode_clips(
    clips: Clips,
    store,
    namespace: str,
    encode,
    *,
    batch_size=16,
    sort_by_length=True,
    progress=False,
    desc="encoding",
    skip=None,
    report=None,
):
    """Return one embedding per clip, encoding only those the store lacks.

    Clips whose content digest is already known (in-memory arrays, files decoded
    earlier in this process) are looked up without decoding. The rest are
    decoded one batch at a time; identical clips are encoded once.

    Parameters
    ----------
    clips : Clips
        The clips.
    store : EmbeddingStore
        Where embeddings are looked up and written.
    namespace : str
        Encoder fingerprint plus every front-end setting that changes its input.
    encode : callable
        ``encode(list[Clip]) -> sequence of ndarray``, one embedding per clip; it
        receives decoded clips at their own rate and owns resampling, repeating
        and windowing through :mod:`zsfuse.audio`.
    batch_size : int, default=16
        Clips handed to ``encode`` at once.
    sort_by_length : bool, default=True
        Batch clips of similar duration together (less padding). Results do not
        depend on it.
    progress : bool, default=False
        Show a progress bar of the clips being encoded.
    desc : str, default="encoding"
        Label of the progress bar.
    skip : container of str, optional
        Digests not to encode (a driver already holds their vectors): such a
        clip gets None instead of an embedding. A clip whose digest is not
        known beforehand is decoded to learn it, but not encoded.
    report : dict, optional
        Filled with ``"digests"`` (the content digest of each clip, in order)
        and ``"encoded"`` (how many distinct clips went through ``encode``).

    Returns
    -------
    list of ndarray
        The embedding of each clip, in the order of ``clips`` (None for a
        skipped one).
    """
    n = len(clips)
    out = [None] * n
    digests = [None] * n
    skip = frozenset() if skip is None else skip
    for i in range(n):
        attached = clips.attached(i, namespace)
        if attached is not None:  # computed elsewhere and carried by the clip: no store, no decoding
            out[i], digests[i] = attached, clips.known_digest(i)
            continue
        digests[i] = clips.known_digest(i) if clips.path(i) is not None else clips[i].digest
    known = [i for i in range(n) if out[i] is None and digests[i] is not None]
    _fill(out, known, store.get_many(namespace, [digests[i] for i in known]))
    skipped = {i for i in known if out[i] is None and digests[i] in skip}

    todo = [i for i in range(n) if out[i] is None and i not in skipped]
    if sort_by_length and len(todo) > 1:
        todo.sort(key=lambda i: (clips.seconds(i), i))
    encoded = {}  # digest -> embedding, for duplicates of clips encoded in this call
    with _progress(len(todo), desc, progress) as bar:
        for batch in clips.iter_batches(todo, batch_size):
            fresh = [c for c in batch if digests[c.index] is None]
            for c in fresh:
                digests[c.index] = c.digest
            if fresh:  # decoded for the first time: maybe on disk already
                _fill(out, [c.index for c in fresh], store.get_many(namespace, [c.digest for c in fresh]))
            skipped.update(c.index for c in batch if out[c.index] is None and c.digest in skip)
            pending = {}
            for c in batch:
                if out[c.index] is None and c.index not in skipped and c.digest not in encoded:
                    pending.setdefault(c.digest, c)
            if pending:
                vectors = encode(list(pending.values()))
                if len(vectors) != len(pending):
                    raise RuntimeError(f"the encoder returned {len(vectors)} embeddings for {len(pending)} clips")
                fresh_vectors = {d: np.asarray(v) for d, v in zip(pending, vectors)}
                store.put_many(namespace, fresh_vectors)
                encoded.update(fresh_vectors)
                del vectors
                trim_heap()  # forward passes of many input sizes leave freed blocks in glibc's arenas
            for c in batch:
                if out[c.index] is None and c.index not in skipped:
                    out[c.index] = encoded[c.digest]
            bar.update(len(batch))
    if report is not None:
        report["digests"] = digests
        report["encoded"] = len(encoded)
    return out


def encode_texts(texts, store, namespace: str, encode, *, batch_size=64):
    """Return one embedding per string, encoding each distinct string once.

    Parameters
    ----------
    texts : sequence of str
        The exact strings that reach the text tower (filled, repeated prompts).
    store : EmbeddingStore
        Where embeddings are looked up and written, keyed by the exact string.
    namespace : str
        Text-encoder fingerprint (and tokenisation settings).
    encode : callable
        ``encode(list[str]) -> sequence of ndarray``.
    batch_size : int, default=64
        Strings handed to ``encode`` at once.

    Returns
    -------
    list of ndarray
        The embedding of each string, in order.
    """
    texts = list(texts)
    found = store.get_many(namespace, texts)
    missing = sorted({t for t, v in zip(texts, found) if v is None})
    fresh = {}
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        vectors = encode(chunk)
        if len(vectors) != len(chunk):
            raise RuntimeError(f"the encoder returned {len(vectors)} embeddings for {len(chunk)} texts")
        store.put_many(namespace, dict(zip(chunk, vectors)))
        fresh.update({t: np.asarray(v) for t, v in zip(chunk, vectors)})
    return [v if v is not None else fresh[t] for t, v in zip(texts, found)]


def _fill(out, positions, values):
    for pos, value in zip(positions, values):
        if value is not None:
            out[pos] = value
