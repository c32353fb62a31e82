"""Observation wrappers for meta-RL: the previous action and reward as inputs."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from brc_rl.envs._checks import check_choice

#: Keys :class:`PrevActionReward` adds in ``mode="dict"``; the wrapped observation is ``"obs"``
#: unless it is a Dict already.
OBS_KEY, PREV_ACTION_KEY, PREV_REWARD_KEY = "obs", "prev_action", "prev_reward"
#: ``PrevActionReward`` modes.
MODES = ("dict", "concat")


def _action_box(action_space: spaces.Space) -> spaces.Box:
    """The space of the encoded previous action: the Box itself, or one-hot for Discrete."""
    if isinstance(action_space, spaces.Discrete):
        return spaces.Box(0.0, 1.0, (int(action_space.n),), np.float32)
    if isinstance(action_space, spaces.Box):
        return spaces.Box(action_space.low.astype(np.float32), action_space.high.astype(np.float32),
                          action_space.shape, np.float32)
    raise ValueError(f"PrevActionReward supports Box and Discrete action spaces, got {action_space}")


class PrevActionReward(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Adds the previous action and the previous reward to every observation.

    The neuromodulatory network of ``NmdRecurrentPolicy`` and meta-RL agents (RL^2,
    Wang et al. 2016) read them: with them, a memory can learn within an episode how the
    environment answers its actions. Both are zeros after ``reset``.

    - previous action: a Box action as taken, clipped to the action space's bounds; a
      Discrete action one-hot (``n`` entries, entry ``a - start``);
    - previous reward: one float, ``reward_scale * reward``.

    Modes:

    - ``"dict"``: a ``Dict`` observation with keys ``"obs"`` (the env's observation),
      ``"prev_action"`` and ``"prev_reward"``; if the env's observation is a ``Dict``
      already, the two keys are added to it. For ``NmdRecurrentPolicy`` (the main network
      reads every key but the two) and ``MultiInputRecurrentPolicy`` (which reads all).
    - ``"concat"``: ``[obs, prev_action, prev_reward]`` as one float32 Box; the env's
      observation must be a 1-D Box.

    Args:
        env: the environment; Box or Discrete actions.
        mode: ``"dict"`` or ``"concat"``.
        reward_scale: factor of the reward fed back (e.g. 0.01 for rewards of 100).
        action: add the previous action (``False`` leaves its key or entries out).
        reward: add the previous reward (likewise).

    Raises:
        ValueError: for neither ``action`` nor ``reward``, another action space, an
            unknown mode, ``"concat"`` with an observation that is not a 1-D Box, or a
            Dict observation that has a key ``"prev_action"`` or ``"prev_reward"`` already.

    Example:
        >>> import gymnasium as gym
        >>> env = PrevActionReward(gym.make("Pendulum-v1"), mode="concat")
        >>> env.observation_space.shape  # 3 + 1 + 1
        (5,)
    """

    def __init__(self, env: gym.Env, mode: str = "dict", reward_scale: float = 1.0, action: bool = True,
                 reward: bool = True) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, mode=mode, reward_scale=reward_scale, action=action,
                                                 reward=reward)
        gym.ObservationWrapper.__init__(self, env)
        self.mode = check_choice("mode", mode, MODES)
        if not (action or reward):
            raise ValueError("PrevActionReward needs action=True or reward=True (both are False)")
        self.keys = (PREV_ACTION_KEY,) * bool(action) + (PREV_REWARD_KEY,) * bool(reward)
        self.reward_scale = float(reward_scale)
        self._action_box = _action_box(env.action_space)
        reward_space = spaces.Box(-np.inf, np.inf, (1,), np.float32)
        obs_space = env.observation_space
        if mode == "dict":
            inner = dict(obs_space.spaces) if isinstance(obs_space, spaces.Dict) else {OBS_KEY: obs_space}
            taken = {PREV_ACTION_KEY, PREV_REWARD_KEY} & set(inner)
            if taken:
                raise ValueError(f"the observation already has key(s) {sorted(taken)}; PrevActionReward adds them")
            extras = {PREV_ACTION_KEY: self._action_box, PREV_REWARD_KEY: reward_space}
            self.observation_space = spaces.Dict({**inner, **{key: extras[key] for key in self.keys}})
        else:
            if not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
                raise ValueError(
                    f"mode='concat' needs a 1-D Box observation space, got {obs_space}; use mode='dict'"
                )
            lows = {PREV_ACTION_KEY: self._action_box.low.ravel(), PREV_REWARD_KEY: [-np.inf]}
            highs = {PREV_ACTION_KEY: self._action_box.high.ravel(), PREV_REWARD_KEY: [np.inf]}
            self.observation_space = spaces.Box(
                np.concatenate([obs_space.low, *(lows[key] for key in self.keys)]).astype(np.float32),
                np.concatenate([obs_space.high, *(highs[key] for key in self.keys)]).astype(np.float32),
                dtype=np.float32,
            )
        self._prev_action = np.zeros(self._action_box.shape, np.float32)
        self._prev_reward = np.zeros(1, np.float32)

    def _encode(self, action: Any) -> np.ndarray:
        space = self.env.action_space
        if isinstance(space, spaces.Discrete):
            one_hot = np.zeros(int(space.n), np.float32)
            one_hot[int(action) - int(space.start)] = 1.0
            return one_hot
        action = np.asarray(action, np.float32).reshape(self._action_box.shape)
        return np.clip(action, self._action_box.low, self._action_box.high)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._prev_action = np.zeros(self._action_box.shape, np.float32)
        self._prev_reward = np.zeros(1, np.float32)
        return super().reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._prev_action = self._encode(action)
        self._prev_reward = np.array([self.reward_scale * float(reward)], np.float32)
        return self.observation(obs), reward, terminated, truncated, info

    def observation(self, observation: Any) -> Any:
        """The env's observation with the stored previous action and reward added."""
        extras = {PREV_ACTION_KEY: self._prev_action, PREV_REWARD_KEY: self._prev_reward}
        if self.mode == "concat":
            return np.concatenate([np.asarray(observation, np.float32).ravel(),
                                   *(extras[key].ravel() for key in self.keys)]).astype(np.float32)
        inner = dict(observation) if isinstance(observation, dict) else {OBS_KEY: observation}
        return {**inner, **{key: extras[key].copy() for key in self.keys}}
