"""The replay study: hippocampal replay as a movie or as imagination, and prioritized memory access.

Imported by its full name, `neuro.replay` (the top-level `replay` package is the agents' replay buffer).

- `mazes`: deterministic gridworlds: Sutton & Barto's Dyna maze, Mattar & Daw's open maze and linear track;
- `successor`: softmax policy, policy transition matrix, successor representation, need;
- `evb`: gain, EVB = gain × need, n-step targets (Mattar & Daw 2018);
- `agent`: tabular Q-learning with a learned one-step model and a memory of lived experience;
- `strategies`: replay strategies behind one interface (none, movie forward/reverse, random Dyna,
  prioritized sweeping, EVB, imagination);
- `simulate`: the loop with replay after each step, before each episode and after each goal;
- `events`: forward and reverse replay events in a bout;
- `sequenceness`, `reactivations`: TDLM on decoded state time series, and simulated rest data to run it on;
- `structure`: Liu et al.'s (2019) structure task: rule learning, movie, imagination and post-reward replay;
- `study`, `figures`, `config`: what `scripts/hippocampal_replay.py` computes, draws and reads
  (`configs/neuro/replay.yaml`).
"""
