"""Child process for the store tests: writes batches of known embeddings.

usage: python _store_writer.py CACHE_DIR PREFIX N_BATCHES BATCH SIZE [START_FLAG]

Entry ``PREFIX-b-k`` holds ``value_for(PREFIX-b-k, SIZE)``; batch ``b`` is one put_many.
"""

import os
import sys

import numpy as np

from zsfuse.store import EmbeddingStore

NAMESPACE = "test-encoder|rate=16000"


def value_for(key, size):
    seed = int.from_bytes(key.encode()[-8:].rjust(8, b"\0"), "little") % (2**32)
    return np.random.default_rng(seed).standard_normal(size).astype(np.float32)


def main():
    cache_dir, prefix, n_batches, batch, size = sys.argv[1:6]
    start_flag = sys.argv[6] if len(sys.argv) > 6 else None
    n_batches, batch, size = int(n_batches), int(batch), int(size)
    store = EmbeddingStore(cache_dir)
    if start_flag:  # wait until the parent says go, so that writers overlap
        while not os.path.exists(start_flag):
            pass
    for b in range(n_batches):
        keys = [f"{prefix}-{b}-{k}" for k in range(batch)]
        store.put_many(NAMESPACE, {key: value_for(key, size) for key in keys})
        print(f"committed {b}", flush=True)


if __name__ == "__main__":
    main()
