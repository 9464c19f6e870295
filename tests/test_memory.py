"""trim_heap gives freed heap pages back to the system (glibc)."""

import os
import subprocess
import sys
import textwrap

import pytest

from zsfuse._memory import _malloc_trim

SCRIPT = textwrap.dedent("""
    import os
    from zsfuse._memory import trim_heap

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    blocks = [bytearray(64 * 1024) for _ in range(4000)]  # 250 MB of heap blocks (below mmap's threshold)
    del blocks[::2]  # free every other one: holes inside the heap, nothing to trim at its top
    before = rss_mb()
    assert trim_heap()
    print(before - rss_mb())
""")


@pytest.mark.skipif(not _malloc_trim(), reason="needs glibc's malloc_trim (Linux)")
def test_trim_heap_returns_freed_pages():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MALLOC_ARENA_MAX": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) > 60  # of the ~125 MB freed in holes
