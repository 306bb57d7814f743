"""The replay study: hippocampal replay as a movie or as imagination, and prioritized memory access.

    python scripts/hippocampal_replay.py figures --out DIR [key=value ...]

`figures` runs the study (neuro/replay/study.py; settings in configs/neuro/replay.yaml, overridable as
key=value): Dyna-Q on Sutton & Barto's Dyna maze (Fig. 8.2), Mattar & Daw's replay strategies on the open maze
(Fig. 1 learning, Fig. 3 forward vs reverse events) and movie vs imagination replay on Liu et al.'s structure
task measured by TDLM sequenceness. It prints the headline numbers and writes dyna.png,
mattar_daw_learning.png, mattar_daw_events.png, sequenceness.png and replay.json (every number shown) to DIR.
"""

from __future__ import annotations

import argparse
import sys

from neuro.cli import parse_study_args, study_parser
from neuro.replay.config import load_replay_config
from neuro.replay.figures import write_study
from neuro.replay.study import replay_study


def _parse(argv: list[str]) -> argparse.Namespace:
    return parse_study_args(study_parser(__doc__, ("figures",), "replay"), argv)


def _summary(study: dict) -> list[str]:
    dyna, md, liu = study["dyna"], study["mattar_daw"], study["liu"]
    lines = ["Dyna maze, episodes to near-optimal (book): " + ", ".join(
        f"n={n}: {r['episodes_to_criterion']} (~{r['published_episodes']})" for n, r in dyna["planning"].items())]
    for key in ("learning", "learning_softmax"):
        lines.append(f"open maze ({key}), mean steps in episodes 2-10 / 11-20: " + ", ".join(
            f"{name} {r['mean_steps_episodes_2_to_10']:.0f} / {r['mean_steps_episodes_11_to_20']:.0f}"
            for name, r in md[key].items()))
    for key, rates in md["events"].items():
        lines.append(f"significant events per episode ({key}): " + "; ".join(
            f"{m} forward {rates[m]['forward']['per_episode']:.2f} reverse {rates[m]['reverse']['per_episode']:.2f}"
            for m in ("start", "goal")))
    lines.append(f"sequenceness at {liu['replay_lag_ms']} ms (true / visual order): " + ", ".join(
        f"{name} {c['true']['at_replay_lag']:+.3f} / {c['visual']['at_replay_lag']:+.3f}"
        for name, c in liu["conditions"].items()))
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    cfg = load_replay_config(args.overrides)
    study = replay_study(cfg)
    for line in _summary(study):
        print(line)
    for path in write_study(study, args.out, cfg.dpi):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
