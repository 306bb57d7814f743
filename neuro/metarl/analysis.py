"""Analyses of the frozen agent's behaviour and activity, as pure functions on arrays.

- bandits: cumulative regret curves, the trial from which an episode's choices stop changing;
- two-step: stay probabilities by previous reward × transition (Daw et al. 2011), the logistic regression
  of stay on reward, transition and their interaction (Wang et al. 2018, Fig. 4), and any per-trial
  quantity (the critic's prediction error) split the same way (Fig. 5);
- Harlow: accuracy per trial of an episode, and the training curve binned by episodes (Fig. 6);
- decoding: cross-validated linear read-outs of task variables from the LSTM state (Wang et al. 2016).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["mean_and_sem", "cumulative_regret", "commit_trials", "stay_table", "logistic_regression",
           "two_step_regression", "condition_means", "trial_accuracy", "binned_curve", "cross_validated_decoding"]

CONDITIONS = (("rewarded", "common"), ("rewarded", "uncommon"), ("unrewarded", "common"), ("unrewarded", "uncommon"))


def mean_and_sem(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean along `axis`."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    return values.mean(axis), values.std(axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(values.mean(axis))


def cumulative_regret(regret: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and SEM over episodes of the cumulative expected regret, from per-pull regret [N, T]."""
    mean, sem = mean_and_sem(np.cumsum(regret, axis=1))
    return {"mean": mean, "sem": sem}


def commit_trials(actions: np.ndarray) -> np.ndarray:
    """Per episode [N], the first trial t (0-based) with actions[t:] all the same arm: when it committed.

    An episode whose last two choices differ commits at T − 1 (only its last choice "stays").
    """
    actions = np.asarray(actions)
    num_trials = actions.shape[1]
    differs = actions[:, :-1] != actions[:, -1:]  # [N, T − 1]: choice at t differs from the final one
    last_diff = np.where(differs.any(1), num_trials - 2 - np.argmax(differs[:, ::-1], axis=1), -1)
    return last_diff + 1


def stay_table(first_actions: np.ndarray, rewarded: np.ndarray, common: np.ndarray) -> dict[str, dict[str, float]]:
    """P(repeat the first-stage choice on trial k+1) by trial k's reward × transition, pooled over episodes.

    All inputs [N, K] per trial (rewarded, common as bool). Returns {"rewarded/common": {"p", "count"}, ...}.
    """
    stay = (first_actions[:, 1:] == first_actions[:, :-1]).ravel()
    r, c = np.asarray(rewarded)[:, :-1].astype(bool).ravel(), np.asarray(common)[:, :-1].astype(bool).ravel()
    out = {}
    for reward_name, transition in CONDITIONS:
        mask = (r == (reward_name == "rewarded")) & (c == (transition == "common"))
        out[f"{reward_name}/{transition}"] = {"p": float(stay[mask].mean()) if mask.any() else float("nan"),
                                              "count": int(mask.sum())}
    return out


def logistic_regression(design: np.ndarray, outcome: np.ndarray, iterations: int = 50) -> dict[str, np.ndarray]:
    """Maximum-likelihood logistic regression by iteratively reweighted least squares (Newton's method).

    design [M, P] (include a column of ones for an intercept), outcome [M] in {0, 1}. Returns `coef` [P],
    `se` [P] (from the inverse Fisher information), Wald `z` [P] and two-sided `p` [P].
    """
    x = np.asarray(design, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        mu = 1.0 / (1.0 + np.exp(-(x @ beta)))
        w = np.clip(mu * (1 - mu), 1e-10, None)
        step = np.linalg.solve(x.T @ (w[:, None] * x), x.T @ (y - mu))
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    mu = 1.0 / (1.0 + np.exp(-(x @ beta)))
    fisher = x.T @ ((mu * (1 - mu))[:, None] * x)
    se = np.sqrt(np.diag(np.linalg.inv(fisher)))
    z = beta / se
    return {"coef": beta, "se": se, "z": z, "p": 2.0 * stats.norm.sf(np.abs(z))}


def two_step_regression(first_actions: np.ndarray, rewarded: np.ndarray, common: np.ndarray) -> dict[str, dict]:
    """Logistic regression of stay (trial k+1) on reward, transition and reward × transition of trial k,
    each coded ±1 (Daw et al. 2011; Wang et al. 2018, Fig. 4b): a model-free learner loads on reward, a
    model-based one on the interaction. Returns {name: {"coef", "se", "z", "p"}} for intercept, reward,
    transition, interaction."""
    stay = (first_actions[:, 1:] == first_actions[:, :-1]).ravel().astype(np.float64)
    r = np.where(np.asarray(rewarded)[:, :-1].ravel(), 1.0, -1.0)
    c = np.where(np.asarray(common)[:, :-1].ravel(), 1.0, -1.0)
    fit = logistic_regression(np.stack([np.ones_like(r), r, c, r * c], axis=1), stay)
    names = ("intercept", "reward", "transition", "interaction")
    return {name: {k: float(fit[k][i]) for k in ("coef", "se", "z", "p")} for i, name in enumerate(names)}


def condition_means(values: np.ndarray, rewarded: np.ndarray, common: np.ndarray) -> dict[str, dict[str, float]]:
    """Mean and SEM of a per-trial quantity [N, K] (e.g. the critic's prediction error at the outcome) by the
    same trial's reward × transition."""
    v = np.asarray(values, dtype=np.float64).ravel()
    r, c = np.asarray(rewarded).astype(bool).ravel(), np.asarray(common).astype(bool).ravel()
    out = {}
    for reward_name, transition in CONDITIONS:
        mask = (r == (reward_name == "rewarded")) & (c == (transition == "common"))
        mean, sem = mean_and_sem(v[mask]) if mask.sum() > 1 else (np.nan, np.nan)
        out[f"{reward_name}/{transition}"] = {"mean": float(mean), "sem": float(sem), "count": int(mask.sum())}
    return out


def trial_accuracy(correct: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and SEM per trial of an episode, from correct [N, K] (bool)."""
    mean, sem = mean_and_sem(np.asarray(correct, dtype=np.float64))
    return {"mean": mean, "sem": sem}


def chance_test(correct: np.ndarray, chance: float = 0.5) -> dict[str, float]:
    """Exact two-sided binomial test of an accuracy against chance, from correct [N] (bool).

    Harlow's trial 1 must sit at chance (the rewarded object is not yet known); a band of ±0.05 around 0.5 is a
    test only when the SEM is well below it, so the p-value is reported with the counts it comes from.
    """
    correct = np.asarray(correct, dtype=bool)
    hits, n = int(correct.sum()), int(correct.size)
    return {"correct": hits, "episodes": n, "accuracy": hits / n, "chance": chance,
            "p": float(stats.binomtest(hits, n, chance).pvalue)}


def binned_curve(x: np.ndarray, y: np.ndarray, num_bins: int) -> dict[str, np.ndarray]:
    """Mean of y in `num_bins` equal-width bins of x (a training curve binned by episodes); empty bins are NaN."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    edges = np.linspace(x.min(), x.max(), num_bins + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, num_bins - 1)
    means = np.array([y[which == b].mean() if (which == b).any() else np.nan for b in range(num_bins)])
    return {"edges": edges, "centers": 0.5 * (edges[:-1] + edges[1:]), "mean": means}


def cross_validated_decoding(features: np.ndarray, target: np.ndarray, groups: np.ndarray, folds: int,
                             kind: str, ridge: float = 1e-3) -> float:
    """Cross-validated linear decoding of `target` [M] from `features` [M, H] with ridge penalty `ridge`.

    Folds split by `groups` [M] (the episode), so no episode is in both training and test data.
    kind "regression": the pooled out-of-fold R²; kind "classification" (binary target in {0, 1}):
    accuracy of thresholding the least-squares read-out at 0.5.
    """
    if kind not in ("regression", "classification"):
        raise ValueError(f"unknown kind {kind!r}; valid: regression, classification")
    x = np.concatenate([np.asarray(features, dtype=np.float64), np.ones((len(features), 1))], axis=1)
    y = np.asarray(target, dtype=np.float64)
    unique = np.unique(groups)
    fold_of = dict(zip(unique, np.arange(unique.size) % folds, strict=True))
    fold = np.array([fold_of[g] for g in groups])
    predicted = np.zeros_like(y)
    for k in range(folds):
        train, test = fold != k, fold == k
        gram = x[train].T @ x[train] + ridge * np.eye(x.shape[1])
        weights = np.linalg.solve(gram, x[train].T @ y[train])
        predicted[test] = x[test] @ weights
    if kind == "classification":
        return float(((predicted > 0.5) == (y > 0.5)).mean())
    return float(1.0 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())
