"""Neuroscience studies run on the project's agents, one subpackage per study.

- `dopamine/`: distributional TD as a model of dopamine neurons (Dabney et al. 2020, Nature);
  CLI `scripts/dopamine.py`, settings `configs/neuro/dopamine.yaml`.
- `metarl/`: prefrontal cortex as a meta-RL system (Wang et al. 2018, Nature Neuroscience);
  CLI `scripts/metarl.py`, settings `configs/neuro/metarl.yaml`.
- `replay/`: hippocampal replay as a movie or as imagination (Mattar & Daw 2018; Liu et al. 2019);
  CLI `scripts/hippocampal_replay.py` (a `scripts/replay.py` would shadow the `replay` package for every
  script), settings `configs/neuro/replay.yaml`.
- `gridcells/`: grid-like units from path integration (Banino et al. 2018; Sorscher et al. 2019, 2023);
  CLI `scripts/gridcells.py`, settings `configs/neuro/gridcells.yaml`.

Each study has the same parts: tasks (gymnasium envs where an agent plays them), models, analyses as pure
functions, a `study` that computes every number its figures show, `figures` that draws them and a typed
`config`; its script is a thin CLI and its `configs/neuro/<study>.yaml` its settings.

What two studies share lives here, once:
- `statistics`: exact expectiles, quantiles and the 1-Wasserstein distance of discrete distributions;
- `plotting`: the Agg backend, saving a figure, strict JSON of the numbers a figure shows.
"""
