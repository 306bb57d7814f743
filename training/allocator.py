"""Keep freed host memory in the process: glibc malloc settings for the training loop.

By default glibc serves blocks above a (dynamic) threshold with mmap and trims the heap top above
another, so every update's multi-MB temporaries (float copies of the batch, activations, gradients,
optimizer scratch) are returned to the OS when freed and page-faulted in again at the next update.
In the training loop, where an env step and an `act` come between updates, this cost a batch-32
DQN update ~24 ms instead of ~17 ms back to back on 2 CPU threads (BENCHMARKS.md). With the
thresholds raised, freed blocks stay in the heap and are reused: the resident set stays at its
peak instead of shrinking between updates, which the replay buffer (one mmap of several GB, far
above the threshold) does not touch.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's maximum on 64-bit: blocks up to 32 MB come from the heap
TRIM_THRESHOLD_BYTES = 2**30  # return heap memory only when 1 GB lies free at its top
TOP_PAD_BYTES = 64 * 2**20  # grow the heap 64 MB at a time


def keep_freed_memory() -> bool:
    """Apply the settings above to this process's malloc; True where it took effect (Linux glibc).

    Elsewhere (macOS, musl, Windows) it does nothing and returns False.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
                (M_TOP_PAD, TOP_PAD_BYTES))
    return all(mallopt(param, value) == 1 for param, value in settings)
