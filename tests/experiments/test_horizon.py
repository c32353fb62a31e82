"""Horizon generalisation: evaluate_horizons with scripted recurrent stand-ins."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import RecurrentPPO

import brc_rl.envs  # noqa: F401  (registers the ids)
from brc_rl.envs.tmaze import DOWN_CUE, UP_CUE, ScriptedTMazeAgent
from brc_rl.experiments.horizon import HorizonResult, evaluate_horizons, evaluate_length, format_horizon_table


class FadingMemory(ScriptedTMazeAgent):
    """Remembers the cue for ``span`` steps, then forgets it (a stand-in for a fading memory)."""

    def __init__(self, span: int) -> None:
        super().__init__(remember_cue=True)
        self.span = span
        self.calls: list[np.ndarray] = []

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        self.calls.append(np.asarray(episode_start).copy())
        memory, age = (np.zeros(len(observation)),) * 2 if state is None else state
        age = np.where(episode_start, 0, age + 1)  # steps since the cue was last seen
        memory = np.where(age > self.span, 0.0, memory)
        actions, memory = super().predict(observation, memory, episode_start, deterministic)
        cue_seen = (observation[:, UP_CUE] == 1) | (observation[:, DOWN_CUE] == 1)
        return actions, (memory, np.where(cue_seen, 0, age))


def test_a_perfect_memory_succeeds_at_every_length():
    results = evaluate_horizons(ScriptedTMazeAgent(), [1, 5, 50, 500], n_episodes=40, seed=0)
    assert list(results) == [1, 5, 50, 500]
    for length, result in results.items():
        assert result == HorizonResult(
            corridor_length=length,
            horizon=3 * (length + 1),
            n_episodes=40,
            success_rate=1.0,
            mean_return=4.0,
            mean_length=length + 1.0,
        )


def test_an_agent_ignoring_the_cue_is_at_chance():
    results = evaluate_horizons(ScriptedTMazeAgent(remember_cue=False), [2, 30], n_episodes=400, seed=1)
    rates = [r.success_rate for r in results.values()]
    assert abs(rates[0] - 0.5) < 3 * np.sqrt(0.25 / 400)
    assert rates[0] == rates[1]  # the same seeds give the same goal sides at every length
    for r in results.values():
        assert r.mean_return == pytest.approx(4.0 * r.success_rate - 0.1 * (1 - r.success_rate))


def test_a_fading_memory_fails_beyond_its_span():
    model = FadingMemory(span=10)
    results = evaluate_horizons(model, [5, 10, 11, 100], n_episodes=200, seed=0)
    assert results[5].success_rate == results[10].success_rate == 1.0
    assert results[11].success_rate < 0.65 and results[100].success_rate < 0.65
    # episode_start is True at the first call of each batch only.
    starts = [bool(c.all()) for c in model.calls]
    assert starts.count(True) == 4 and all(not c.any() for c in model.calls if not c.all())


def test_env_kwargs_reach_the_env():
    noisy = evaluate_horizons(ScriptedTMazeAgent(), [10], n_episodes=100, env_kwargs={"action_noise": 0.5})
    assert noisy[10].success_rate < 1.0 and noisy[10].mean_length > 11.0


def test_episode_i_is_the_first_episode_seeded_seed_plus_i():
    # Noisy moves give episodes of different lengths: each of the N envs must still play
    # exactly one episode, the one a lone env seeded seed + i plays.
    agent, kwargs = ScriptedTMazeAgent(), {"action_noise": 0.4}
    together = evaluate_length(agent, 6, n_episodes=8, seed=3, env_kwargs=kwargs)
    alone = [evaluate_length(agent, 6, n_episodes=1, seed=3 + i, env_kwargs=kwargs) for i in range(8)]
    assert len({r.mean_length for r in alone}) > 1
    assert together.mean_length == np.mean([r.mean_length for r in alone])
    assert together.success_rate == np.mean([r.success_rate for r in alone])
    assert together.mean_return == pytest.approx(np.mean([r.mean_return for r in alone]))


def test_format_horizon_table():
    table = format_horizon_table(evaluate_horizons(ScriptedTMazeAgent(), [3, 20], n_episodes=4))
    lines = table.splitlines()
    assert lines[0].startswith("| L | step limit |") and len(lines) == 4
    assert lines[2] == "| 3 | 12 | 4 | 1.000 | 4.000 | 4.0 |"
    assert lines[3] == "| 20 | 63 | 4 | 1.000 | 4.000 | 21.0 |"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lengths": []}, "at least one corridor length"),
        ({"lengths": [0]}, "corridor_length must be an integer >= 1, got 0"),
        ({"lengths": [5], "n_episodes": 0}, "n_episodes must be an integer >= 1"),
        ({"lengths": [5], "env_kwargs": {"corridor_length": 3}}, "must not set corridor_length"),
        ({"lengths": [5], "env_kwargs": {"action_noise": 2.0}}, "action_noise must be a probability"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate_horizons(ScriptedTMazeAgent(), **kwargs)


def test_works_with_sb3_contrib_recurrent_ppo():
    # The real recurrent predict API: (N, 4) observations, LSTM state tuples, episode_start.
    env = gym.make("brc_rl/TMaze-v0", corridor_length=4)
    model = RecurrentPPO("MlpLstmPolicy", env, n_steps=16, batch_size=16, device="cpu", seed=0)
    results = evaluate_horizons(model, [2, 8], n_episodes=6)
    for length, result in results.items():
        assert result.n_episodes == 6 and 0.0 <= result.success_rate <= 1.0
        assert length + 1 <= result.mean_length <= 3 * (length + 1)
