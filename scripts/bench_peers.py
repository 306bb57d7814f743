"""The peers' own venv for `scripts/bench.py`: Stable-Baselines3, sb3-contrib and Tianshou, never project
dependencies, pinned so that every run compares against the same code.

    python scripts/bench.py --setup-peers   # creates .bench-venv/ (torch CPU build first, then the peers)

`PEERS` says which driver (scripts/bench_drivers/) runs which peer for each of our agents.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / ".bench-venv"
PEER_PACKAGES = ["stable-baselines3==2.9.2", "sb3-contrib==2.9.2", "tianshou==2.0.1", "ale-py==0.12.1",
                 "gymnasium>=1.0,<2"]
# (driver, agent) pairs of the peers; the label is the framework's own name for the algorithm.
PEERS: dict[str, list[tuple[str, str]]] = {
    "dqn": [("sb3_peer.py", "SB3 DQN")],
    "c51": [("tianshou_peer.py", "Tianshou C51")],
    "qrdqn": [("sb3_peer.py", "sb3-contrib QR-DQN"), ("tianshou_peer.py", "Tianshou QR-DQN")],
    "iqn": [("tianshou_peer.py", "Tianshou IQN")],
    "fqf": [("tianshou_peer.py", "Tianshou FQF")],
}
PEER_VERSIONS = ("import stable_baselines3, sb3_contrib, tianshou, torch; print(f'stable-baselines3 "
                 "{stable_baselines3.__version__}, sb3-contrib {sb3_contrib.__version__}, tianshou "
                 "{tianshou.__version__}, torch {torch.__version__}')")


def peer_python() -> Path:
    """The peer venv's interpreter (it may not exist yet: see `setup_peers`)."""
    return PEER_VENV / "bin" / "python"


def peer_versions() -> str:
    """The peers' and their torch's versions as the peer venv reports them (or the tail of its error)."""
    out = subprocess.run([str(peer_python()), "-c", PEER_VERSIONS], capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip()[-200:]


def setup_peers() -> None:
    """Create .bench-venv/ with torch==2.13.0 (the CPU build, first, so no CUDA build is pulled) and
    the pinned peers. Never touches the project's own venv."""
    if not peer_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(peer_python()), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, *PEER_PACKAGES], check=True)
    print(peer_versions())
