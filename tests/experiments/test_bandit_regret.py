"""Bandit regret through the one play path: a scripted agent against the env's regret by hand,
and ``brc-rl bandit-regret`` on a tiny trained MetaBandit run."""

from __future__ import annotations

import json
import re
import shutil

import gymnasium as gym
import numpy as np
import pytest
import yaml
from stable_baselines3.common.env_util import make_vec_env

import brc_rl.envs  # noqa: F401  (registers the ids)
from brc_rl.cli import main
from brc_rl.experiments.bandit import bandit_regrets
from brc_rl.experiments.config import load_config
from brc_rl.experiments.evaluation import evaluate, play
from brc_rl.experiments.run import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BANDIT = "brc_rl/MetaBandit-v0"
SMALL = {"n_arms": 3, "n_pulls": 5}


class FirstArm:
    """Always pulls arm 0 (the recurrent ``predict`` API, no state)."""

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return np.zeros(len(observation), dtype=np.int64), state


def first_arm_by_hand(seed: int, episodes: int) -> list[tuple[float, float]]:
    """(expected regret n (max_a p_a - p_0), return) of each episode of one env seeded ``seed``,
    reset again at each episode end as a VecEnv does."""
    env = gym.make(BANDIT, **SMALL)
    _, info = env.reset(seed=seed)
    played = []
    for _ in range(episodes):
        probs, total, done = info["probs"], 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(0)
            total, done = total + reward, terminated or truncated
        played.append((SMALL["n_pulls"] * float(probs.max() - probs[0]), total))
        _, info = env.reset()
    return played


def test_regret_of_a_scripted_agent_is_the_expected_regret_by_hand():
    env = make_vec_env(BANDIT, n_envs=3, seed=7, env_kwargs=SMALL)
    played = play(FirstArm(), env, episodes=6)
    # Every episode lasts n_pulls steps, so the envs end together: env 0, 1, 2, then again.
    by_env = [first_arm_by_hand(7 + i, 2) for i in range(3)]
    expected = [by_env[i][k] for k in range(2) for i in range(3)]
    assert played.regrets == pytest.approx([regret for regret, _ in expected])
    assert played.returns == pytest.approx([total for _, total in expected])
    assert played.lengths == [5] * 6 and played.successes is None
    assert 0 < np.count_nonzero(played.regrets) < 6  # arm 0 is the best arm of some bandits only


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    config = load_config("configs/bandit/ppo_nbrc.yaml", [
        "total_timesteps=400", "env.n_envs=2", "hyperparams.n_steps=100", "hyperparams.batch_size=200",
        "hyperparams.n_epochs=1", "policy.hidden_size=8", "eval_freq=0", "checkpoint_freq=0", "progress_bar=false",
    ])
    return train(config, run_dir=tmp_path_factory.mktemp("bandit") / "run", argv=["test"])


def test_cli_prints_the_mean_regret_and_writes_json(run_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["bandit-regret", str(run_dir), "--episodes", "6", "--seed", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    match = re.fullmatch(rf"{re.escape(str(run_dir))}: mean regret per episode ([\d.]+) \+- ([\d.]+) "
                         r"\(6 episodes, deterministic\)\n", printed)
    assert match is not None
    regrets = bandit_regrets(run_dir, 6, seed=2)
    data = json.loads(out.read_text())
    assert data == {"mean_regret": pytest.approx(np.mean(regrets)), "sem": pytest.approx(np.std(regrets) / np.sqrt(6)),
                    "episodes": 6, "deterministic": True}
    assert float(match.group(1)) == pytest.approx(data["mean_regret"], abs=5e-3)
    assert 0 <= data["mean_regret"] <= 100  # 100 pulls, each missing at most 1


def test_bandit_regrets_is_evaluate_on_parallel_envs(run_dir):
    regrets = bandit_regrets(run_dir, 5, seed=3, batch=2)  # 3 episodes on env 0, 2 on env 1
    result = evaluate(run_dir, episodes=5, seed=3, n_envs=2)
    assert regrets == result.regrets and len(regrets) == 5
    assert result.success_rate is None and result.lengths == [100] * 5
    assert f"mean regret: {np.mean(regrets):.3f}" in result.summary()
    assert result.to_dict()["mean_regret"] == pytest.approx(np.mean(regrets))


def test_a_run_on_another_env_exits_2(run_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["env"].update(id="brc_rl/TMaze-v0", kwargs={})
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["bandit-regret", str(copy)]) == 2
    assert "was trained on brc_rl/TMaze-v0, not brc_rl/MetaBandit-v0" in capsys.readouterr().err


def test_regret_by_gap_script_bins_and_matches_the_bandits_played():
    import importlib.util
    from pathlib import Path

    from brc_rl.envs.bandit_baselines import play as play_baseline

    script = Path(__file__).parents[2] / "scripts" / "bandit_regret_by_gap.py"
    spec = importlib.util.spec_from_file_location("bandit_regret_by_gap", script)
    by_gap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(by_gap)
    # the bandits it recomputes are those play met: always arm 0 has regret n (max_a p_a - p_0)
    probs = by_gap.played_bandits("independent", 2, 50, seed=3)
    regrets = play_baseline(lambda counts, rng: np.zeros(50, dtype=np.int64), 2, 7, "independent", 50, 3)
    assert regrets == pytest.approx(7 * (probs.max(1) - probs[:, 0]))
    # one regret per bin of EDGES, the bins' means in order, the overall mean first
    gaps = np.array([0.01, 0.07, 0.15, 0.15, 0.3, 0.9])
    assert by_gap.row("a", gaps, np.array([1.0, 2.0, 3.0, 5.0, 6.0, 8.0])) == \
        "| a | 4.17 | 1.00 | 2.00 | 4.00 | 6.00 | 8.00 |"
