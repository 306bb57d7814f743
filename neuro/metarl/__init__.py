"""The prefrontal cortex as a meta-reinforcement-learning system (Wang et al. 2018, Nat. Neurosci.; Wang et al.
2016, arXiv 1611.05763): slow A2C training of a recurrent network's weights yields, in its activations, a
fast learning algorithm of its own that solves new tasks with the weights frozen.

- `envs`: two-armed bandits (independent, dependent arms), the two-step task, Harlow's task (gymnasium);
- `agent`, `a2c`, `rollout`, `training`: the LSTM actor-critic, its loss and n-step returns, batched play,
  meta-training with the project's run dirs, checkpoints, metrics.jsonl and TensorBoard;
- `baselines`: Thompson sampling, UCB1 and Gittins indices on Bernoulli bandits, and regret;
- `analysis`: stay probabilities and their logistic regression, commitment, Harlow accuracy, decoding;
- `study`, `figures`, `config`: what `scripts/metarl.py figures` computes, draws and reads.
"""
