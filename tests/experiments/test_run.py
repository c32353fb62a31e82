"""Run folders of ``brc-rl train``: artefacts, checkpoints, resume, eval (tiny runs)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnvWrapper

from brc_rl.cli import main
from brc_rl.experiments.config import ConfigError, config_from_dict
from brc_rl.experiments.evaluation import evaluate, play
from brc_rl.experiments.run import checkpoints, make_env, resume, train
from brc_rl.experiments.run_dir import RunDir

# 2 envs x 16 steps = 32 steps per rollout; totals are multiples of it.
TINY = {
    "algo": "ppo",
    "env": {"id": "brc_rl/TMaze-v0", "kwargs": {"corridor_length": 2}, "n_envs": 2},
    "policy": {"cell": "nbrc", "hidden_size": 8, "net_arch": [8]},
    "hyperparams": {"n_steps": 16, "batch_size": 32, "n_epochs": 1},
    "total_timesteps": 128,
    "checkpoint_freq": 32,
    "keep_checkpoints": 2,
    "eval_freq": 64,
    "eval_episodes": 2,
    "progress_bar": False,
}


def write_config(tmp_path: Path, data: dict = TINY) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def saved_steps(model_zip: Path) -> int:
    with zipfile.ZipFile(model_zip) as archive:
        return int(re.search(r'"num_timesteps": (\d+)', archive.read("data").decode()).group(1))


def test_cli_run_writes_its_folder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["train", str(write_config(tmp_path)), "--set", "seed=3", "--run-dir", str(run_dir)]
    assert main(argv) == 0
    assert f"run folder: {run_dir}" in capsys.readouterr().out
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["seed"] == 3 and resolved["run_dir"] == str(run_dir)
    assert resolved["policy"]["num_layers"] == 1  # defaults are filled in
    assert (run_dir / "command.txt").read_text() == "brc-rl " + " ".join(argv) + "\n"
    events = list((run_dir / "tensorboard").glob("ppo_1/events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    # checkpoints after the updates at 32, 64, 96 and at the end (128); the last 2 kept
    assert [steps for steps, _ in checkpoints(run_dir)] == [96, 128]
    assert saved_steps(run_dir / "checkpoints" / "model_96_steps.zip") == 96
    assert saved_steps(run_dir / "final_model.zip") == 128
    with np.load(run_dir / "eval" / "evaluations.npz") as evaluations:
        assert list(evaluations["timesteps"]) == [64, 128]
        assert evaluations["results"].shape == (2, 2)
    assert (run_dir / "best_model.zip").is_file()
    assert main(argv) == 2  # never overwrites a run
    assert "already exists" in capsys.readouterr().err


class Crash(BaseCallback):
    """Raise once training passes ``steps``, as a killed process would stop."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def _on_step(self) -> bool:
        if self.num_timesteps > self.steps:
            raise RuntimeError("simulated crash")
        return True


def test_resume_continues_the_step_count_and_the_tensorboard_run(tmp_path, capsys):
    data = dict(TINY, total_timesteps=192, keep_checkpoints=5)
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(data, run_dir=run_dir, callbacks=[Crash(80)])
    assert [s for s, _ in checkpoints(run_dir)] == [32, 64]  # the update of steps 64-96 never finished
    assert not (run_dir / "final_model.zip").exists()
    assert main(["train", "--resume", str(run_dir)]) == 0
    assert "from model_64_steps.zip (64 steps)" in capsys.readouterr().out
    assert [s for s, _ in checkpoints(run_dir)] == [64, 96, 128, 160, 192]  # 192 pruned the oldest
    assert saved_steps(run_dir / "final_model.zip") == 192
    assert [p.name for p in (run_dir / "tensorboard").iterdir()] == ["ppo_1"]
    assert len(list((run_dir / "tensorboard" / "ppo_1").glob("events.*"))) == 2
    with np.load(run_dir / "eval" / "evaluations.npz") as evaluations:
        assert list(evaluations["timesteps"]) == [64, 128, 192]
    assert (run_dir / "command.txt").read_text().splitlines()[1] == f"brc-rl train --resume {run_dir}"
    # a longer total: the run goes on from its final checkpoint
    assert main(["train", "--resume", str(run_dir), "--set", "total_timesteps=256"]) == 0
    assert saved_steps(run_dir / "final_model.zip") == 256
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["total_timesteps"] == 256
    # training.json: every session, the crashed one included (Crash raised at 82 = 41 steps x 2 envs)
    sessions = json.loads((run_dir / "training.json").read_text())["sessions"]
    assert [(s["start_step"], s["end_step"]) for s in sessions] == [(0, 82), (64, 192), (192, 256)]
    assert all(s["seconds"] > 0 for s in sessions)
    assert main(["train", "--resume", str(run_dir), "--set", "policy.cell=gru"]) == 2
    assert "--resume cannot change 'policy.cell'" in capsys.readouterr().err


def test_keyboard_interrupt_saves_a_checkpoint(tmp_path, capsys):
    class Interrupt(Crash):
        def _on_step(self) -> bool:
            if self.num_timesteps >= self.steps:
                raise KeyboardInterrupt
            return True

    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(dict(TINY, eval_freq=0), run_dir=run_dir, callbacks=[Interrupt(40)])
    assert [s for s, _ in checkpoints(run_dir)] == [32, 40]
    assert [(s["start_step"], s["end_step"]) for s in RunDir(run_dir).training_sessions()] == [(0, 40)]
    assert f"brc-rl train --resume {run_dir}" in capsys.readouterr().err
    (run_dir / "training.json").write_text("{corrupt")  # a resume still trains and saves, and says so
    assert main(["train", "--resume", str(run_dir)]) == 0
    assert saved_steps(run_dir / "final_model.zip") == 136  # 40 + 3 rollouts of 32
    assert "cannot read" in capsys.readouterr().err and (run_dir / "training.json").read_text() == "{corrupt"


def test_cli_exits_130_on_ctrl_c(tmp_path, monkeypatch):
    from brc_rl.experiments import run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "train", interrupted)
    assert main(["train", str(write_config(tmp_path))]) == 130


def test_eval_prints_mean_return_and_success_rate(tmp_path, capsys):
    run_dir = tmp_path / "run"
    train(dict(TINY, total_timesteps=32, eval_freq=0), run_dir=run_dir, argv=["test"])
    assert main(["eval", str(run_dir), "--episodes", "6", "--stochastic", "--env-kwargs", "corridor_length=4",
                 "--seed", "5", "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    mean, std = map(float, re.search(r"mean return: (-?[\d.]+) \+- ([\d.]+)", out).groups())
    rate = float(re.search(r"success rate: ([\d.]+) \((\d)/6\)", out).group(1))
    result = evaluate(run_dir, episodes=6, deterministic=False, env_kwargs={"corridor_length": 4}, seed=5)
    assert mean == pytest.approx(result.mean_return, abs=1e-3) and std == pytest.approx(result.std_return, abs=1e-3)
    assert rate == pytest.approx(result.success_rate, abs=1e-3)
    # T-maze: success (+4) is the only positive return; the longer corridor is used
    assert result.successes == [r > 0 for r in result.returns]
    assert all(length <= 3 * (4 + 1) for length in result.lengths)
    assert main(["eval", str(run_dir), "--env-kwargs", "length=4"]) == 2
    assert "takes no argument 'length'" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 2


class EpisodeEnds(VecEnvWrapper):
    """Keeps ``info["is_success"]`` at every episode end it sees, apart from the code under test."""

    def __init__(self, venv) -> None:
        super().__init__(venv)
        self.successes: list[bool] = []

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        self.successes += [bool(info["is_success"]) for info, done in zip(infos, dones) if done]
        return obs, rewards, dones, infos


def test_eval_success_rate_is_the_mean_of_is_success_at_episode_ends(tmp_path, monkeypatch):
    from brc_rl.experiments import evaluation

    run_dir = train(dict(TINY, total_timesteps=32, eval_freq=0), run_dir=tmp_path / "run", argv=["test"])
    recorded: list[EpisodeEnds] = []

    def recording_env(*args, **kwargs):
        recorded.append(EpisodeEnds(make_env(*args, **kwargs)))
        return recorded[-1]

    monkeypatch.setattr(evaluation, "make_env", recording_env)
    result = evaluate(run_dir, episodes=30, deterministic=False, env_kwargs={"action_noise": 0.3})
    (env,) = recorded
    assert result.successes == env.successes and len(env.successes) == 30
    assert result.success_rate == np.mean(env.successes)
    assert 0 < result.success_rate < 1


class ScriptedAgent:
    """Go right ``corridor`` times then up; the state counts steps since the episode start."""

    def __init__(self, corridor: int) -> None:
        self.corridor = corridor
        self.calls: list[tuple[bool, int | None]] = []

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        self.calls.append((bool(episode_start[0]), None if state is None else int(state[0])))
        steps = np.zeros(1, dtype=int) if episode_start[0] else state
        action = np.array([0 if steps[0] < self.corridor else 1])
        return action, steps + 1


def test_play_feeds_the_state_back_and_resets_it_at_episode_starts():
    config = config_from_dict(TINY)  # corridor_length 2, overridden to 3
    env = make_env(config.env, 1, seed=0, kwargs={"corridor_length": 3}, training=False)
    agent = ScriptedAgent(corridor=3)
    played = play(agent, env, episodes=20, deterministic=True)
    returns, lengths, successes = played.returns, played.lengths, played.successes
    assert lengths == [4] * 20  # 3 moves right, one turn
    assert returns == [pytest.approx(4.0 if s else -0.1) for s in successes]
    assert 0 < sum(successes) < 20  # the goal side is drawn at random
    starts = [start for start, _ in agent.calls]
    assert starts == [True, False, False, False] * 20
    assert [state for _, state in agent.calls[:5]] == [None, 1, 2, 3, 4]  # the returned state comes back


def test_a2c_run_with_vecnormalize_saves_and_reloads_the_statistics(tmp_path):
    from brc_rl.agents import RecurrentA2C
    from brc_rl.experiments.evaluation import find_model

    data = dict(TINY, algo="a2c", hyperparams={"n_steps": 16, "gamma": 0.9}, eval_freq=32, checkpoint_freq=0,
                env=dict(TINY["env"], normalize_obs=True, normalize_reward=True))
    run_dir = train(data, run_dir=tmp_path / "run", argv=["test"])
    assert [s for s, _ in checkpoints(run_dir)] == [128]  # checkpoint_freq 0: only at the end
    assert (run_dir / "checkpoints" / "vecnormalize_128_steps.pkl").is_file()
    assert (run_dir / "final_vecnormalize.pkl").is_file()
    assert isinstance(RecurrentA2C.load(find_model(run_dir)), RecurrentA2C)
    config = config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    env = make_env(config.env, 1, seed=0, vecnormalize=run_dir / "final_vecnormalize.pkl", training=False)
    assert env.obs_rms.count > 128 and not env.training and not env.norm_reward
    assert env.gamma == 0.9  # the returns that scale the rewards are discounted as the algorithm's
    assert evaluate(run_dir, episodes=2).success_rate is not None


def logged_steps(run_dir: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard" / "ppo_1"))
    events.Reload()
    return sorted(event.step for event in events.Scalars(tag))  # event files of the two invocations, any order


def test_each_update_is_logged_once_at_its_rollout_step_across_a_resume(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(dict(TINY, total_timesteps=160, eval_freq=48), run_dir=run_dir, callbacks=[Crash(80)])
    resume(run_dir)
    rollouts = [32, 64, 96, 128, 160]  # 2 envs x 16 steps; the crash lost the rollout 64-96, redone
    assert logged_steps(run_dir, "train/value_loss") == rollouts
    assert logged_steps(run_dir, "memory/layer0/state_abs_mean") == rollouts
    assert logged_steps(run_dir, "eval/mean_reward") == [48, 96, 144]  # evaluations keep their own steps


def test_progress_bar_runs_from_the_resumed_step_to_the_last_whole_rollout(tmp_path):
    from brc_rl.experiments.callbacks import ProgressBar

    run_dir = tmp_path / "run"
    train(dict(TINY, total_timesteps=64, eval_freq=0), run_dir=run_dir)
    bars = []

    class Recorded(ProgressBar):
        def _on_training_end(self) -> None:
            bars.append((self.bar.n, self.bar.total, self.bar.initial))
            super()._on_training_end()

    resume(run_dir, ["total_timesteps=100"], callbacks=[Recorded(100)])  # rollouts of 32: ends at 128
    assert bars == [(128, 128, 64)]


def test_eval_kwargs_change_the_evaluation_env_only(tmp_path, capsys):
    # trained on a 2-cell corridor, evaluated on a 12-cell one: an episode there lasts > 12 steps
    run_dir = tmp_path / "run"
    train(dict(TINY, env=dict(TINY["env"], eval_kwargs={"corridor_length": 12})), run_dir=run_dir)
    with np.load(run_dir / "eval" / "evaluations.npz") as evaluations:
        assert evaluations["ep_lengths"].min() > 12
    assert min(evaluate(run_dir, episodes=3).lengths) > 12
    assert max(evaluate(run_dir, episodes=3, env_kwargs={"corridor_length": 2}).lengths) < 12
    with np.load(run_dir / "eval" / "evaluations.npz") as evaluations:
        assert evaluations["ep_lengths"].min() > 12
    bad = dict(TINY, env=dict(TINY["env"], eval_kwargs={"corridor": 12}))
    assert main(["train", str(write_config(tmp_path, bad))]) == 2
    assert "config key 'env.eval_kwargs.corridor': brc_rl/TMaze-v0 takes no argument 'corridor'" in \
        capsys.readouterr().err


def test_reward_normalisation_discounts_with_the_algorithms_gamma_unless_told():
    from brc_rl.experiments.run import reward_gamma

    base = dict(TINY, env=dict(TINY["env"], normalize_reward=True))
    assert reward_gamma(config_from_dict(base)) == 0.99  # SB3's default
    assert reward_gamma(config_from_dict(dict(base, hyperparams={"gamma": 0.9}))) == 0.9
    told = config_from_dict(dict(base, hyperparams={"gamma": 0.9}, env=dict(base["env"], normalize_gamma=0.99)))
    assert reward_gamma(told) == 0.99
    assert make_env(told.env, 1, seed=0, gamma=reward_gamma(told)).gamma == 0.99
    with pytest.raises(ConfigError, match="normalize_gamma"):
        config_from_dict(dict(base, env=dict(base["env"], normalize_gamma=1.5)))
