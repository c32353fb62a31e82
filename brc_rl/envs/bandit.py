"""Meta-RL Bernoulli bandit: a new bandit at each reset, one episode of ``n_pulls`` pulls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from brc_rl.envs._checks import check_choice, check_int, check_render_mode

#: Height in pixels of the image of ``MetaBanditEnv.render()`` (a probability of 1).
BAR_PIXELS = 32

PriorSampler = Callable[[np.random.Generator, int, int], np.ndarray]


def _independent(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.random((n, k))


def _dependent_uniform(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    p1 = rng.random(n)
    return np.stack([p1, 1.0 - p1], axis=1)


def _two_point(q: float) -> PriorSampler:
    def sample(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        p1 = np.where(rng.random(n) < 0.5, q, 1.0 - q)
        return np.stack([p1, 1.0 - p1], axis=1)

    return sample


#: For the two-point dependent priors: p_1 is q or 1 - q with probability 1/2 each.
TWO_POINT_Q: dict[str, float] = {"easy": 0.1, "medium": 0.25, "hard": 0.4}

#: Prior name -> sampler ``(rng, n, k) -> probs`` of shape (n, k).
PRIORS: dict[str, PriorSampler] = {
    "independent": _independent,
    "uniform": _dependent_uniform,
    **{name: _two_point(q) for name, q in TWO_POINT_Q.items()},
}

#: Priors with p_2 = 1 - p_1, defined for two arms only.
DEPENDENT_PRIORS: frozenset[str] = frozenset({"uniform", *TWO_POINT_Q})


def check_bandit_args(n_arms: object, n_pulls: object, prior: object) -> tuple[int, int, str]:
    """Validate the bandit's arguments.

    Returns:
        ``(n_arms, n_pulls, prior)``.

    Raises:
        ValueError: if ``n_arms`` or ``n_pulls`` is not an integer >= 1, ``prior``
            is not a key of ``PRIORS``, or a dependent prior is asked for
            ``n_arms != 2``.
    """
    n_arms = check_int("n_arms", n_arms, 1)
    n_pulls = check_int("n_pulls", n_pulls, 1)
    prior = check_choice("prior", prior, PRIORS)
    if prior in DEPENDENT_PRIORS and n_arms != 2:
        raise ValueError(
            f"prior {prior!r} is defined for n_arms=2 only, got n_arms={n_arms}; "
            f"for any number of arms use prior='independent'"
        )
    return n_arms, n_pulls, prior


def sample_probs(prior: str, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Draw ``n`` bandits of ``k`` arms from ``PRIORS[prior]``.

    Returns:
        Arm probabilities, shape (n, k), float64.
    """
    return PRIORS[check_choice("prior", prior, PRIORS)](rng, n, k)


@dataclass
class BanditCounts:
    """What a reference agent sees of a batch of E episodes after t pulls.

    Attributes:
        successes: (E, k) number of rewards of 1 per arm.
        pulls: (E, k) number of pulls per arm.
        t: pulls made so far in every episode.
    """

    successes: np.ndarray
    pulls: np.ndarray
    t: int


class BanditBatch:
    """Reward draws and regret bookkeeping for a batch of bandits.

    ``MetaBanditEnv`` holds a batch of one; the reference agents in
    ``brc_rl.envs.bandit_baselines`` play a batch of many episodes through the
    same code, so both report the same regret:

        regret = sum_t (max_a p_a - p_{a_t})   (the pseudo-regret: it uses the
                                                probabilities, not the draws)

    Args:
        probs: arm probabilities, shape (E, k).

    Attributes:
        probs: (E, k) arm probabilities.
        regret: (E,) running regret.
    """

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = np.asarray(probs, dtype=np.float64)
        self.regret = np.zeros(len(self.probs))
        self._best = self.probs.max(axis=1)
        self._rows = np.arange(len(self.probs))

    def pull(self, actions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Pull arm ``actions[e]`` of bandit ``e`` for every e.

        Args:
            actions: (E,) integer arms.
            rng: the generator the Bernoulli rewards are drawn from (one uniform
                draw per bandit, in order).

        Returns:
            (E,) rewards in {0.0, 1.0}.
        """
        p = self.probs[self._rows, actions]
        self.regret += self._best - p
        return (rng.random(len(p)) < p).astype(np.float64)


class MetaBanditEnv(gym.Env[np.ndarray, np.int64]):
    """A Bernoulli bandit drawn anew at every reset, played for ``n_pulls`` pulls.

    ## Description

    Meta-reinforcement-learning bandit (Wang et al. 2016 "Learning to reinforcement
    learn"; Duan et al. 2016 RL^2). Each episode is one bandit with ``n_arms``
    Bernoulli arms whose probabilities are drawn from ``prior``; to earn more than
    a random player the agent must learn, inside its memory, which arm pays.

    ## Action Space

    ``Discrete(n_arms)``: the arm to pull.

    ## Observation Space

    ``Box(0, 1, (n_arms + 2,), float32)``:
    ``[one-hot previous action (n_arms), previous reward (1), t / n_pulls (1)]``
    where t is the number of pulls made so far. All zeros at reset.

    ## Rewards

    1 with probability p_a when arm a is pulled, 0 otherwise.

    ## Starting State

    The arm probabilities are drawn from ``prior``:

    | prior | arms | probabilities |
    |---|---|---|
    | "independent" | any | p_i ~ U[0, 1] independently |
    | "uniform" | 2 | p_1 ~ U[0, 1], p_2 = 1 - p_1 |
    | "easy" | 2 | p_1 in {0.1, 0.9} with probability 1/2 each, p_2 = 1 - p_1 |
    | "medium" | 2 | p_1 in {0.25, 0.75}, p_2 = 1 - p_1 |
    | "hard" | 2 | p_1 in {0.4, 0.6}, p_2 = 1 - p_1 |

    ## Episode End

    Terminated after ``n_pulls`` pulls (no truncation: the length is part of the task).

    ## Info

    ``info["probs"]``: the arm probabilities, shape (n_arms,);
    ``info["regret"]``: the running regret sum_t (max_a p_a - p_{a_t}), 0 at reset.

    ## Arguments

    ```python
    gymnasium.make("brc_rl/MetaBandit-v0", n_arms=2, n_pulls=100, prior="independent")
    ```

    Args:
        n_arms: number of arms k >= 1.
        n_pulls: pulls per episode n >= 1.
        prior: a key of ``PRIORS``; the dependent priors need ``n_arms == 2``.
        render_mode: None (no rendering) or "rgb_array": ``render()`` returns a
            (BAR_PIXELS, 8 n_arms, 3) uint8 image, one bar per arm, as high as
            its probability, red for the arm pulled last.

    Raises:
        ValueError: on an invalid argument, naming the valid values.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        n_arms: int = 2,
        n_pulls: int = 100,
        prior: str = "independent",
        render_mode: str | None = None,
    ) -> None:
        self.n_arms, self.n_pulls, self.prior = check_bandit_args(n_arms, n_pulls, prior)
        self.render_mode = check_render_mode("MetaBanditEnv", render_mode, self.metadata["render_modes"])
        self._last_arm = -1
        self.action_space = spaces.Discrete(self.n_arms)
        self.observation_space = spaces.Box(0.0, 1.0, (self.n_arms + 2,), np.float32)
        self._batch: BanditBatch | None = None
        self._t = 0

    def _info(self) -> dict[str, Any]:
        assert self._batch is not None
        return {"probs": self._batch.probs[0].copy(), "regret": float(self._batch.regret[0])}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._batch = BanditBatch(sample_probs(self.prior, self.np_random, 1, self.n_arms))
        self._t = 0
        self._last_arm = -1
        return np.zeros(self.n_arms + 2, dtype=np.float32), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._batch is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= self.n_pulls:
            raise RuntimeError("the episode has terminated; call reset()")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, {self.n_arms}), got {action!r}")
        reward = float(self._batch.pull(np.array([int(action)]), self.np_random)[0])
        self._t += 1
        self._last_arm = int(action)
        obs = np.zeros(self.n_arms + 2, dtype=np.float32)
        obs[int(action)] = 1.0
        obs[self.n_arms] = reward
        obs[self.n_arms + 1] = self._t / self.n_pulls
        return obs, reward, self._t == self.n_pulls, False, self._info()

    def render(self) -> np.ndarray | None:
        """The arms as an RGB image if ``render_mode == "rgb_array"`` (after ``reset``), else None.

        Returns:
            (BAR_PIXELS, 8 n_arms, 3) uint8: arm a is a column 8 pixels wide whose
            bottom ``round(p_a * BAR_PIXELS)`` pixels are grey, red for the arm
            pulled last; the rest is white.
        """
        if self.render_mode != "rgb_array" or self._batch is None:
            return None
        image = np.full((BAR_PIXELS, 8 * self.n_arms, 3), 255, dtype=np.uint8)
        for arm, p in enumerate(self._batch.probs[0]):
            height = int(round(float(p) * BAR_PIXELS))
            colour = (220, 0, 0) if arm == self._last_arm else (120, 120, 120)
            image[BAR_PIXELS - height :, 8 * arm + 1 : 8 * arm + 7] = colour
        return image
