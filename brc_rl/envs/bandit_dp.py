"""Bayes-optimal 2-arm bandit policies by exact finite-horizon dynamic programming."""

from __future__ import annotations

import math

import numpy as np

from brc_rl.envs.bandit import TWO_POINT_Q, BanditCounts, check_bandit_args

#: Largest horizon the independent-prior DP accepts: it visits about n^4 / 4 states
#: (seconds for n = 200) and keeps one byte per history, about n^4 / 24 bytes.
MAX_INDEPENDENT_DP_PULLS = 200


def _two_point_predictive(q: float, a: np.ndarray, t: int) -> np.ndarray:
    """P(arm 0 pays | a, t) when p_0 is q or 1 - q and p_1 = 1 - p_0.

    ``a`` counts the observations favouring arm 0 (its successes and arm 1's
    failures); the posterior weight of p_0 = q is sigmoid((2a - t) log(q / (1 - q))).
    """
    x = (2.0 * a - t) * math.log(q / (1.0 - q))
    w = 0.5 * (1.0 + np.tanh(0.5 * x))
    return w * q + (1.0 - w) * (1.0 - q)


def _expected_best(prior: str) -> float:
    """E[max_a p_a] under a 2-arm prior."""
    if prior == "independent":
        return 2.0 / 3.0
    if prior == "uniform":
        return 0.75
    return max(TWO_POINT_Q[prior], 1.0 - TWO_POINT_Q[prior])


def _sign(diff: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """-1, 0 (tie) or +1 as int8: +1 where arm 1 is strictly better."""
    return (np.where(diff > tol, 1, 0) - np.where(diff < -tol, 1, 0)).astype(np.int8)


def _dependent_dp(n_pulls: int, prior: str) -> tuple[float, list[np.ndarray]]:
    """DP for p_1 = 1 - p_0: the state at time t is a = s_0 + f_1 in 0..t.

    Both arms move a to a + 1 with probability m = P(arm 0 pays | a, t) and leave it
    otherwise, so they inform equally and

        V_t(a) = max(m, 1 - m) + m V_{t+1}(a + 1) + (1 - m) V_{t+1}(a),   V_n = 0.

    Returns:
        (V_0, decisions) with decisions[t] of shape (t + 1,): sign(Q_1 - Q_0).
    """
    value = np.zeros(n_pulls + 1)
    decisions: list[np.ndarray] = [np.zeros(0, np.int8)] * n_pulls
    for t in range(n_pulls - 1, -1, -1):
        a = np.arange(t + 1, dtype=np.float64)
        m = (a + 1.0) / (t + 2.0) if prior == "uniform" else _two_point_predictive(TWO_POINT_Q[prior], a, t)
        decisions[t] = _sign((1.0 - m) - m)
        value = np.maximum(m, 1.0 - m) + m * value[1 : t + 2] + (1.0 - m) * value[: t + 1]
    return float(value[0]), decisions


def _independent_dp(n_pulls: int) -> tuple[float, list[np.ndarray]]:
    """DP over Beta(1, 1) posteriors of two independent arms.

    The state after t pulls is (n_0, s_0, s_1) (pulls of arm 0, successes of each
    arm; n_1 = t - n_0); with m_0 = (s_0 + 1) / (n_0 + 2), m_1 = (s_1 + 1) / (n_1 + 2):

        Q_0 = m_0 (1 + V_{t+1}(n_0 + 1, s_0 + 1, s_1)) + (1 - m_0) V_{t+1}(n_0 + 1, s_0, s_1)
        Q_1 = m_1 (1 + V_{t+1}(n_0, s_0, s_1 + 1)) + (1 - m_1) V_{t+1}(n_0, s_0, s_1)
        V_t = max(Q_0, Q_1),   V_n = 0.

    Layer t is computed on a padded (t + 1)^3 grid; only the valid histories
    (s_0 <= n_0, s_1 <= n_1) are kept, flattened in C order.

    Returns:
        (V_0, decisions) with decisions[t] the flattened sign(Q_1 - Q_0) at time t.
    """
    value = np.zeros((n_pulls + 1,) * 3)
    decisions: list[np.ndarray] = [np.zeros(0, np.int8)] * n_pulls
    for t in range(n_pulls - 1, -1, -1):
        i = np.arange(t + 1, dtype=np.float64)
        n0, s0, s1 = i[:, None, None], i[None, :, None], i[None, None, :]
        m0 = (s0 + 1.0) / (n0 + 2.0)
        m1 = (s1 + 1.0) / (t - n0 + 2.0)
        stay = value[: t + 1, : t + 1, : t + 1]
        q0 = m0 * (1.0 + value[1:, 1:, : t + 1]) + (1.0 - m0) * value[1:, : t + 1, : t + 1]
        q1 = m1 * (1.0 + value[: t + 1, : t + 1, 1:]) + (1.0 - m1) * stay
        decisions[t] = _sign(q1 - q0)[(s0 <= n0) & (s1 <= t - n0)]
        value = np.maximum(q0, q1)
    return float(value[0, 0, 0]), decisions


def _independent_offsets(t: int) -> np.ndarray:
    """Start of each n_0 block in the flattened layer t: sum_{j < n_0} (j + 1)(t - j + 1)."""
    j = np.arange(t + 1)
    return np.concatenate([[0], np.cumsum((j + 1) * (t - j + 1))])[:-1]


class BayesOptimal:
    """The Bayes-optimal policy for 2 arms, by exact finite-horizon DP.

    For ``prior="independent"`` (p_0, p_1 ~ U[0, 1]) the DP runs over the Beta
    posteriors (``_independent_dp``, n_pulls <= ``MAX_INDEPENDENT_DP_PULLS``); for the
    dependent priors (p_1 = 1 - p_0) over the posterior of p_0 (``_dependent_dp``),
    where both arms inform equally, so the optimal policy is the greedy one.

    Args:
        n_pulls: episode length n.
        prior: a 2-arm prior of ``brc_rl.envs.bandit.PRIORS``.

    Attributes:
        expected_regret: the exact expected regret n E[max_a p_a] - V_0.

    Raises:
        ValueError: for an unknown prior or n_pulls above the independent DP's limit.
    """

    def __init__(self, n_pulls: int, prior: str) -> None:
        _, self.n_pulls, self.prior = check_bandit_args(2, n_pulls, prior)
        if prior == "independent":
            if self.n_pulls > MAX_INDEPENDENT_DP_PULLS:
                raise ValueError(
                    f"the independent-prior DP accepts n_pulls <= {MAX_INDEPENDENT_DP_PULLS}, "
                    f"got {self.n_pulls}"
                )
            v0, self._decisions = _independent_dp(self.n_pulls)
            self._offsets = [_independent_offsets(t) for t in range(self.n_pulls)]
        else:
            v0, self._decisions = _dependent_dp(self.n_pulls, prior)
        self.expected_regret = self.n_pulls * _expected_best(prior) - v0

    def __call__(self, counts: BanditCounts, rng: np.random.Generator) -> np.ndarray:
        t, s, n = counts.t, counts.successes, counts.pulls
        if self.prior == "independent":
            n0 = n[:, 0]
            index = self._offsets[t][n0] + s[:, 0] * (t - n0 + 1) + s[:, 1]
        else:
            index = s[:, 0] + (n[:, 1] - s[:, 1])
        sign = self._decisions[t][index]
        coin = rng.integers(2, size=len(sign))
        return np.where(sign > 0, 1, np.where(sign < 0, 0, coin))


def bayes_optimal_regret(n_pulls: int, prior: str) -> float:
    """Exact expected regret of the Bayes-optimal policy for 2 arms (see ``BayesOptimal``)."""
    return BayesOptimal(n_pulls, prior).expected_regret
