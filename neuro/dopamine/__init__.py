"""The dopamine study: distributional TD as a model of dopamine neurons (Dabney et al. 2020, Nature).

- `tasks`: the variable-magnitude and variable-probability tasks as reward distributions;
- `envs`: both as gymnasium envs (registered on import; `experiment=variable_magnitude` reaches them);
- `models`: classical and distributional TD populations (expectile and quantile forms);
- `analysis`: response curves, reversal points, asymmetries, their correlation, split-half reliability,
  optimistic/pessimistic cue coding;
- `decoding`: the reward distribution from asymmetries and reversal points (expectile imputation,
  inverse CDF);
- `agent_cells`: the same analysis on a trained agent's quantile/expectile channels;
- `study`, `figures`, `config`: what `scripts/dopamine.py` computes, draws and reads (`configs/neuro/dopamine.yaml`).

Shared with the other studies: `neuro.statistics` (expectiles, quantiles, W1) and `neuro.plotting`.
"""
