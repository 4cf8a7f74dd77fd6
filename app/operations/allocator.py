"""glibc malloc tuned to give memory back after a flood of large requests.

By default glibc raises its mmap threshold each time a large block is freed, so later large blocks (bodies,
parsed JSON, pixel arrays) come from the heap, which fragments and keeps the pages: RSS stayed ~250 MB
above its start after floods of 8 MB bodies. A fixed threshold (MALLOC_MMAP_THRESHOLD_) keeps every block
over 64 KiB in its own mapping, returned to the kernel when freed. It won against MALLOC_ARENA_MAX,
MALLOC_TRIM_THRESHOLD_, malloc_trim and jemalloc (`python -m bench.memory`; figures in the README).
"""

import ctypes
import os

MMAP_THRESHOLD_ENV = "MALLOC_MMAP_THRESHOLD_"
MMAP_THRESHOLD_BYTES = 64 * 1024
M_MMAP_THRESHOLD = -3
"""mallopt's parameter number for the mmap threshold (malloc.h)."""


def tune_allocator() -> bool:
    """Fix glibc's mmap threshold in this process (mallopt) and in the workers it starts (the environment),
    unless MALLOC_MMAP_THRESHOLD_ is set already. False where the C library is not glibc."""
    if MMAP_THRESHOLD_ENV in os.environ:
        return True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    os.environ[MMAP_THRESHOLD_ENV] = str(MMAP_THRESHOLD_BYTES)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
