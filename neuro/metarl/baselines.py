"""Bandit algorithms the meta-learned agent is measured against (Wang et al. 2016, Fig. 2), and regret.

Each policy sees, per episode, the success and failure counts of both arms ([N, 2] each) and the trial
number, and returns the arm to pull [N]; `play_bandits` runs one on N two-armed Bernoulli bandits at once.
- Thompson sampling (Thompson 1933): pull the arm whose draw from its Beta(1 + s, 1 + f) posterior is larger.
- UCB1 (Auer, Cesa-Bianchi & Fischer 2002, Fig. 1): pull each arm once, then the arm maximising
  x̄_i + sqrt(2 ln t / n_i), t the pulls so far.
- Gittins indices (Gittins 1979) for Bernoulli arms with Beta priors: `gittins_indices` computes, by
  dynamic programming, the index of every posterior state reachable in an episode; the policy pulls the
  arm with the larger index (the Bayes-optimal policy for the discounted infinite-horizon problem).
Ties are broken at random.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["BanditPolicy", "thompson_policy", "ucb1_scores", "ucb1_policy", "gittins_indices", "gittins_policy",
           "play_bandits", "BASELINES"]

BanditPolicy = Callable[[np.ndarray, np.ndarray, int, np.random.Generator], np.ndarray]


def _argmax_random_ties(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """argmax over the last axis of [N, 2] scores, a tie going to a random arm."""
    best = scores.max(-1, keepdims=True)
    noise = rng.random(scores.shape)
    return np.where(scores >= best, noise, -1.0).argmax(-1)


def thompson_policy(successes: np.ndarray, failures: np.ndarray, trial: int, rng: np.random.Generator) -> np.ndarray:
    """Thompson sampling with uniform Beta(1, 1) priors: one posterior draw per arm, pull the larger [N]."""
    return _argmax_random_ties(rng.beta(1.0 + successes, 1.0 + failures), rng)


def ucb1_scores(successes: np.ndarray, failures: np.ndarray, trial: int) -> np.ndarray:
    """UCB1's upper confidence bounds x̄_i + sqrt(2 ln t / n_i) [N, 2], t = `trial` (pulls so far);
    an arm never pulled scores +inf."""
    pulls = successes + failures
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = successes / pulls + np.sqrt(2.0 * np.log(max(trial, 1)) / pulls)
    return np.where(pulls == 0, np.inf, scores)


def ucb1_policy(successes: np.ndarray, failures: np.ndarray, trial: int, rng: np.random.Generator) -> np.ndarray:
    return _argmax_random_ties(ucb1_scores(successes, failures, trial), rng)


def gittins_indices(discount: float, max_pulls: int, depth: int, grid: int = 2001,
                    prior: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Gittins indices of a Bernoulli arm with a Beta prior, for every state within `max_pulls` pulls.

    Returns G [max_pulls + 1, max_pulls + 1]: G[s, f] is the index (in reward per pull) of the arm after s
    successes and f failures (posterior Beta(α₀ + s, β₀ + f)); NaN where s + f > max_pulls.
    Calibration by retirement (Whittle 1980; Gittins, Glazebrook & Weber 2011, §8.4): the index of a
    state is the λ at which one is indifferent between retiring for λ per pull forever, λ/(1 − γ), and
    pulling once more and continuing optimally,
        V(s, f; λ) = max(λ/(1 − γ), μ (1 + γ V(s + 1, f; λ)) + (1 − μ) γ V(s, f + 1; λ)),  μ = (α₀+s)/(α₀+β₀+s+f).
    V is computed by backward induction from `max_pulls + depth` pulls, where learning is assumed to stop
    (V = max(λ, μ)/(1 − γ); the error shrinks as γ^depth), for `grid` values of λ on [0, 1] at once;
    the index is where continuing minus retiring changes sign, linearly interpolated between grid values.
    """
    if not 0.0 <= discount < 1.0:
        raise ValueError(f"discount must be in [0, 1); got {discount}")
    if max_pulls < 0 or depth < 1 or grid < 3:
        raise ValueError(f"need max_pulls >= 0, depth >= 1, grid >= 3; got {max_pulls}, {depth}, {grid}")
    alpha0, beta0 = prior
    lam = np.linspace(0.0, 1.0, grid)  # [G]
    retire = lam / (1.0 - discount)
    last = max_pulls + depth
    successes = np.arange(last + 1)
    mean = (alpha0 + successes) / (alpha0 + beta0 + last)
    value = np.maximum(lam[None, :], mean[:, None]) / (1.0 - discount)  # [n + 1, G]: states with n pulls
    indices = np.full((max_pulls + 1, max_pulls + 1), np.nan)
    for n in range(last - 1, -1, -1):
        s = np.arange(n + 1)
        mean = ((alpha0 + s) / (alpha0 + beta0 + n))[:, None]  # [n + 1, 1]
        cont = mean * (1.0 + discount * value[1 : n + 2]) + (1.0 - mean) * discount * value[: n + 1]
        if n <= max_pulls:
            gap = cont - retire[None, :]  # decreasing in λ; the index is its zero
            first_neg = np.argmax(gap <= 0, axis=1)  # gap[0] = cont > 0 at λ = 0 (for μ > 0)
            lo = np.maximum(first_neg - 1, 0)
            g_lo, g_hi = gap[s, lo], gap[s, first_neg]
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(g_lo != g_hi, g_lo / (g_lo - g_hi), 0.0)
            index = lam[lo] + frac * (lam[first_neg] - lam[lo])
            index = np.where((gap > 0).all(axis=1), 1.0, index)
            indices[s, n - s] = index
        value = np.maximum(retire[None, :], cont)
    return indices


def gittins_policy(indices: np.ndarray) -> BanditPolicy:
    """The policy pulling the arm of larger Gittins index, from a table of `gittins_indices`."""

    def policy(successes: np.ndarray, failures: np.ndarray, trial: int, rng: np.random.Generator) -> np.ndarray:
        return _argmax_random_ties(indices[successes.astype(int), failures.astype(int)], rng)

    return policy


def play_bandits(policy: BanditPolicy, probs: np.ndarray, num_trials: int, rng: np.random.Generator
                 ) -> dict[str, np.ndarray]:
    """Run `policy` on N two-armed Bernoulli bandits with arm probabilities `probs` [N, 2] for `num_trials`.

    Returns `actions` and `rewards` [N, T] and `regret` [N, T], the expected regret of each pull,
    max(p) − p_a (its cumulative sum over trials is the regret curve of Wang et al. 2016, Fig. 2).
    """
    n = probs.shape[0]
    successes, failures = np.zeros((n, 2)), np.zeros((n, 2))
    actions = np.zeros((n, num_trials), dtype=np.int64)
    rewards = np.zeros((n, num_trials))
    rows = np.arange(n)
    for t in range(num_trials):
        a = policy(successes, failures, t, rng)
        r = (rng.random(n) < probs[rows, a]).astype(np.float64)
        successes[rows, a] += r
        failures[rows, a] += 1.0 - r
        actions[:, t], rewards[:, t] = a, r
    regret = probs.max(-1, keepdims=True) - np.take_along_axis(probs, actions, axis=1)
    return {"actions": actions, "rewards": rewards, "regret": regret}


BASELINES = ("thompson", "ucb1", "gittins")
