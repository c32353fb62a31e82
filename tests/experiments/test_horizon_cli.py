"""``brc-rl horizon`` on a tiny trained T-maze run: plumbing, JSON, errors."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from brc_rl.cli import main
from brc_rl.experiments.config import config_from_dict
from brc_rl.experiments.evaluation import load_agent
from brc_rl.experiments.horizon import evaluate_horizons, format_horizon_table, horizon
from brc_rl.experiments.run import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {
    "algo": "ppo",
    "env": {"id": "brc_rl/TMaze-v0", "kwargs": {"corridor_length": 3, "action_noise": 0.5}, "n_envs": 2},
    "policy": {"cell": "nbrc", "hidden_size": 8, "net_arch": [8]},
    "hyperparams": {"n_steps": 16, "batch_size": 32, "n_epochs": 1},
    "total_timesteps": 64,
    "checkpoint_freq": 32,
    "eval_freq": 0,
    "progress_bar": False,
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train(config_from_dict(TINY), run_dir=tmp_path_factory.mktemp("horizon") / "run")


def test_cli_prints_the_table_of_evaluate_horizons_and_writes_json(run_dir, tmp_path, capsys):
    out = tmp_path / "h.json"
    argv = ["horizon", str(run_dir), "--lengths", "2", "7", "--episodes", "6", "--seed", "5", "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    # The same model and env kwargs (action_noise kept, corridor_length replaced) by hand:
    agent, _ = load_agent(run_dir, config_from_dict(TINY))
    expected = evaluate_horizons(agent, [2, 7], n_episodes=6, seed=5, env_kwargs={"action_noise": 0.5})
    assert printed == f"model: {run_dir / 'final_model.zip'} (64 steps)\n{format_horizon_table(expected)}\n"
    data = json.loads(out.read_text())
    assert data["steps"] == 64 and data["seed"] == 5
    assert [r["corridor_length"] for r in data["results"]] == [2, 7]
    assert [r["horizon"] for r in data["results"]] == [9, 24]
    assert [r["success_rate"] for r in data["results"]] == [expected[2].success_rate, expected[7].success_rate]


def test_horizon_is_deterministic_and_picks_the_model(run_dir):
    first, path, steps = horizon(run_dir, [4], episodes=8, seed=0, model="latest")
    again, _, _ = horizon(run_dir, [4], episodes=8, seed=0, model="latest")
    assert first == again
    assert path.name == "model_64_steps.zip" and steps == 64


def _copy_with(run_dir, tmp_path, **env_changes):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["env"].update(env_changes)
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    return copy


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"id": "brc_rl/MetaBandit-v0", "kwargs": {}},
            "needs a run on brc_rl/TMaze-v0, got env.id 'brc_rl/MetaBandit-v0'",
        ),
        ({"wrappers": ["flatten"]}, r"plays the raw T-maze; the run uses env.wrappers=\['flatten'\]"),
    ],
)
def test_a_run_that_is_not_the_plain_tmaze_exits_2(run_dir, tmp_path, capsys, changes, message):
    copy = _copy_with(run_dir, tmp_path, **changes)
    assert main(["horizon", str(copy), "--lengths", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("brc-rl horizon: error: ")
    assert re.search(message, err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lengths", "0"], "corridor_length must be an integer >= 1, got 0"),
        (["--lengths", "5", "--episodes", "0"], "n_episodes must be an integer >= 1, got 0"),
    ],
)
def test_bad_arguments_exit_2(run_dir, capsys, argv, message):
    assert main(["horizon", str(run_dir), *argv]) == 2
    assert message in capsys.readouterr().err


def test_not_a_run_folder_exits_2(tmp_path, capsys):
    assert main(["horizon", str(tmp_path), "--lengths", "10"]) == 2
    assert "is not a run folder" in capsys.readouterr().err
