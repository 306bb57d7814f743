"""Neuroscience studies run on the project's agents, one subpackage per study.

- `dopamine/`: distributional TD as a model of dopamine neurons (Dabney et al. 2020, Nature);
  CLI `scripts/dopamine.py`, settings `configs/neuro/dopamine.yaml`.

Each study has the same parts: `tasks` (and gymnasium `envs` where an agent plays them), `models`,
analyses as pure functions, a `study` that computes every number its figures show, `figures` that draws
them and a typed `config`; `scripts/<study>.py` is its thin CLI and `configs/neuro/<study>.yaml` its
settings. The studies to come go beside `dopamine/` the same way: `metarl/` (prefrontal cortex as
meta-RL, Wang et al. 2018), `replay/` (replay and prioritized replay, Mattar & Daw 2018; Liu et al. 2019),
`gridcells/` (grid-like units from path integration, Banino et al. 2018).

What two studies share lives here, once:
- `statistics`: exact expectiles, quantiles and the 1-Wasserstein distance of discrete distributions;
- `plotting`: the Agg backend, saving a figure, strict JSON of the numbers a figure shows.
"""
