"""``algo: sb3_contrib_ppo``: sb3-contrib's RecurrentPPO run through our configs and run folders (tiny runs)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from sb3_contrib import RecurrentPPO
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from brc_rl.cli import main
from brc_rl.experiments.config import ConfigError, config_from_dict
from brc_rl.experiments.run import checkpoints, policy_kwargs, train

# 2 envs x 16 steps = 32 steps per rollout; policy.name and policy.cell follow the algorithm.
TINY = {
    "algo": "sb3_contrib_ppo",
    "env": {"id": "brc_rl/TMaze-v0", "kwargs": {"corridor_length": 2}, "n_envs": 2},
    "policy": {"hidden_size": 8, "net_arch": [8]},
    "hyperparams": {"n_steps": 16, "batch_size": 16, "n_epochs": 1},
    "total_timesteps": 64,
    "checkpoint_freq": 32,
    "keep_checkpoints": 5,
    "eval_freq": 64,
    "eval_episodes": 2,
    "progress_bar": False,
    "device": "cpu",
}


def saved_steps(model_zip: Path) -> int:
    with zipfile.ZipFile(model_zip) as archive:
        return int(re.search(r'"num_timesteps": (\d+)', archive.read("data").decode()).group(1))


def test_cli_trains_resumes_evaluates_and_plays_horizons(tmp_path, capsys):
    config_file, run_dir = tmp_path / "tiny.yaml", tmp_path / "run"
    config_file.write_text(yaml.safe_dump(TINY))
    assert main(["train", str(config_file), "--run-dir", str(run_dir)]) == 0
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (resolved["policy"]["name"], resolved["policy"]["cell"]) == ("MlpLstmPolicy", "lstm")
    assert [s for s, _ in checkpoints(run_dir)] == [32, 64]
    assert saved_steps(run_dir / "final_model.zip") == 64
    capsys.readouterr()

    assert main(["train", "--resume", str(run_dir), "--set", "total_timesteps=128"]) == 0
    assert "from model_64_steps.zip (64 steps)" in capsys.readouterr().out
    assert [s for s, _ in checkpoints(run_dir)] == [32, 64, 96, 128]
    assert saved_steps(run_dir / "final_model.zip") == 128
    assert isinstance(RecurrentPPO.load(run_dir / "final_model.zip"), RecurrentPPO)
    with np.load(run_dir / "eval" / "evaluations.npz") as evaluations:
        assert list(evaluations["timesteps"]) == [64, 128]
        assert evaluations["successes"].shape == (2, 2)
    (board,) = (run_dir / "tensorboard").iterdir()
    assert board.name == "sb3_contrib_ppo_1" and len(list(board.glob("events.*"))) == 2
    keys = set()
    for events in board.glob("events.*"):
        keys |= set(EventAccumulator(str(events)).Reload().Tags()["scalars"])
    assert {"train/value_loss", "eval/success_rate", "rollout/ep_rew_mean"} <= keys
    assert not any(key.startswith("memory/") for key in keys)  # sb3-contrib's LSTM is not monitored

    assert main(["eval", str(run_dir), "--episodes", "4"]) == 0
    assert re.search(r"model: .*final_model\.zip \(128 steps\)\n.*\n.*\nsuccess rate: [\d.]+ \(\d/4\)",
                     capsys.readouterr().out)
    assert main(["horizon", str(run_dir), "--lengths", "2", "5", "--episodes", "3"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if re.match(r"\| \d", line)]
    assert [row.split(" | ")[:3] for row in rows] == [["| 2", "9", "3"], ["| 5", "18", "3"]]


@pytest.mark.parametrize(("shared", "layers"), [(False, 1), (True, 2)])
def test_memory_keys_map_to_what_sb3_contrib_receives(tmp_path, shared, layers):
    policy = dict(TINY["policy"], num_layers=layers, shared_memory=shared, activation_fn="relu")
    run_dir = train(dict(TINY, policy=policy, total_timesteps=32, eval_freq=0), tmp_path / "run", argv=["test"])
    model = RecurrentPPO.load(run_dir / "final_model.zip")
    lstm = model.policy.lstm_actor
    assert (lstm.hidden_size, lstm.num_layers) == (8, layers)
    assert (model.policy.shared_lstm, model.policy.enable_critic_lstm) == (shared, not shared)
    assert (model.policy.lstm_critic is None) == shared
    assert model.policy.net_arch == [8] and model.policy.activation_fn.__name__ == "ReLU"
    assert set(model.policy_kwargs) == {"lstm_hidden_size", "n_lstm_layers", "shared_lstm", "enable_critic_lstm",
                                        "net_arch", "activation_fn", "normalize_images", "ortho_init"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("policy.cell=gru", "config key 'policy.cell': sb3-contrib's RecurrentPPO policy is an LSTM; "
                            "set lstm or leave the key out, got 'gru'"),
        ("policy.rnn_kwargs={dropout: 0.1}", "config key 'policy.rnn_kwargs': sb3-contrib's RecurrentPPO takes no "
                                             "cell arguments; leave it empty, got {'dropout': 0.1}"),
        ("policy.name=MlpRecurrentPolicy", "config key 'policy.name': unknown name 'MlpRecurrentPolicy'; valid: "
                                           "CnnLstmPolicy, MlpLstmPolicy, MultiInputLstmPolicy (the policies of algo "
                                           "'sb3_contrib_ppo')"),
        ("hyperparams.num_layers=2", "config key 'hyperparams.num_layers': sb3_contrib's RecurrentPPO takes no "
                                     "argument 'num_layers'; valid: batch_size, clip_range,"),
        ("hyperparams.n_epochs=2.5", "config key 'hyperparams.n_epochs': expected int, got float 2.5"),
    ],
)
def test_what_sb3_contrib_cannot_take_is_a_one_line_error(override, message):
    with pytest.raises(ConfigError) as error:
        config_from_dict(TINY, [override])
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_batch_size_is_sb3_contribs_own():
    # ours cut whole environments (16 or 32 here); sb3-contrib any number of steps, its default 128 too
    for hyperparams in ({"n_steps": 16, "batch_size": 24}, {"n_steps": 16}):
        assert config_from_dict(dict(TINY, hyperparams=hyperparams)).hyperparams == hyperparams
        with pytest.raises(ConfigError, match="does not cut a rollout"):
            config_from_dict(dict(TINY, algo="ppo", policy={"cell": "lstm"}, hyperparams=hyperparams))


def test_our_algorithms_keep_their_defaults_and_memory_keys():
    config = config_from_dict(dict(TINY, algo="ppo", hyperparams={"n_steps": 16, "batch_size": 16}))
    assert (config.policy.name, config.policy.cell) == ("MlpRecurrentPolicy", "nbrc")
    assert {"cell", "hidden_size", "num_layers", "shared_memory", "rnn_kwargs"} <= set(policy_kwargs(config.policy))


def test_bandit_regret_plays_an_sb3_contrib_run(tmp_path, capsys):
    bandit = {"id": "brc_rl/MetaBandit-v0", "kwargs": {"n_arms": 2, "n_pulls": 8}, "n_envs": 2}
    run_dir = train(dict(TINY, env=bandit, total_timesteps=32, eval_freq=0), tmp_path / "run", argv=["test"])
    assert main(["bandit-regret", str(run_dir), "--episodes", "4"]) == 0
    assert re.search(r"mean regret per episode [\d.]+ \+- [\d.]+ \(4 episodes, deterministic\)",
                     capsys.readouterr().out)
