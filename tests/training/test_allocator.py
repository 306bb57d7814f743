"""training.allocator: with the loop's malloc settings a freed multi-MB block stays in the process
(reused by the next update), where glibc's defaults hand it back to the OS."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Allocates and frees a 20 MB block (an update's temporaries are of this order, under the 32 MB
# threshold); prints how much the resident set shrank at the free, in MB.
PROBE = textwrap.dedent("""
    import sys
    import torch
    from training.allocator import keep_freed_memory
    if sys.argv[1] == "tuned":
        assert keep_freed_memory()

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    block = torch.ones(5 * 2**20)  # 20 MB, every page touched
    before = rss_mb()
    del block
    print(before - rss_mb())
""")


def _shrink_mb(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, cwd=ROOT,
                         check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings (Linux)")
def test_freed_blocks_stay_in_the_process_with_the_loop_settings() -> None:
    assert _shrink_mb("default") > 15  # glibc's defaults: the 20 MB go back to the OS
    assert _shrink_mb("tuned") < 1  # kept for the next allocation
