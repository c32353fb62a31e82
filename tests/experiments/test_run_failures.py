"""``brc-rl train`` on bad input: one line, exit 2, nothing left behind; folders that can be restarted."""

from __future__ import annotations

import pytest
import torch
import yaml

from brc_rl.cli import main
from brc_rl.experiments.run import checkpoints
from tests.experiments.test_run import TINY as RUN_TINY

# test_run's tiny T-maze run, shorter, with GRU, without periodic evaluation
TINY = {**RUN_TINY, "policy": {**RUN_TINY["policy"], "cell": "gru"}, "total_timesteps": 64, "eval_freq": 0}


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("env.kwargs.corridor_length=-3", "corridor_length must be an integer >= 1, got -3"),
        ("env.kwargs.corridor_length=abc", "corridor_length must be an integer >= 1, got 'abc'"),
        ("hyperparams.learning_rate=-1", "ppo rejects the config's hyperparams or policy"),
        ("device=nodevice", "config key 'device'"),
    ],
)
def test_rejected_config_is_one_line_and_writes_nothing(config, tmp_path, capsys, override, message):
    run_dir = tmp_path / "run"
    assert main(["train", str(config), "--set", override, "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("brc-rl train: error: ") and message in err and err.count("\n") == 1
    assert not run_dir.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_cuda_without_cuda_is_an_error_not_a_silent_cpu_run(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", str(config), "--set", "device=cuda", "--run-dir", str(run_dir)]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert not run_dir.exists()


def test_folder_where_nothing_was_trained_can_be_started_again(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(yaml.safe_dump(TINY))  # as left by a crash before training
    (run_dir / "command.txt").write_text("brc-rl train tiny.yaml\n")
    assert main(["train", "--resume", str(run_dir)]) == 2
    assert "nothing was trained; start it again with 'brc-rl train" in capsys.readouterr().err
    assert main(["train", str(config), "--run-dir", str(run_dir)]) == 0
    assert "starting it again" in capsys.readouterr().err
    assert [steps for steps, _ in checkpoints(run_dir)][-1] == 64
    assert (run_dir / "final_model.zip").is_file()
    assert (run_dir / "command.txt").read_text().count("\n") == 1  # the old folder's files are gone


def test_trained_folder_is_never_overwritten(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run_dir)]) == 0
    before = (run_dir / "final_model.zip").read_bytes()
    assert main(["train", str(config), "--run-dir", str(run_dir)]) == 2
    assert "already exists and is not empty; continue it with 'brc-rl train --resume" in capsys.readouterr().err
    assert (run_dir / "final_model.zip").read_bytes() == before


def test_foreign_folder_is_never_deleted(config, tmp_path, capsys):
    run_dir = tmp_path / "mine"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("keep me")
    assert main(["train", str(config), "--run-dir", str(run_dir)]) == 2
    assert (run_dir / "notes.txt").read_text() == "keep me"


def test_eval_of_a_truncated_model_names_the_file_and_the_other_models(config, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run_dir)]) == 0
    final = run_dir / "final_model.zip"
    final.write_bytes(final.read_bytes()[:200])
    assert main(["eval", str(run_dir), "--episodes", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"brc-rl eval: error: cannot load {final}") and err.count("\n") == 1
    assert "the run also has --model latest (model_64_steps.zip)" in err
    assert main(["eval", str(run_dir), "--episodes", "2", "--model", "latest"]) == 0
