"""``brc-rl supervised`` on bad input: one line, exit 2, and no result deleted or left half-made."""

from __future__ import annotations

import json

import pytest

from brc_rl.cli import main
from brc_rl.supervised import train as train_module
from brc_rl.supervised.mnist import MnistUnavailableError

ARGS = ["supervised", "copy-first", "--cell", "gru", "--seq-len", "5", "--epochs", "1", "--train-size", "50",
        "--test-size", "20", "--seeds", "0", "--device", "cpu", "--no-progress"]
RUN = "copy-first-seq_len5-gru-reduced"


def test_refused_arguments_leave_no_folder(tmp_path, capsys):
    argv = [*ARGS, "--logdir", str(tmp_path / "runs")]
    argv[argv.index("--seq-len") + 1] = "0"
    assert main(argv) == 2
    assert "brc-rl supervised: error: --seq-len: expected an integer >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_fresh_keeps_the_old_run_until_the_new_one_has_started(tmp_path, monkeypatch, capsys):
    argv = [*ARGS, "--logdir", str(tmp_path)]
    assert main(argv) == 0
    old = json.loads((tmp_path / RUN / "results.json").read_text())

    def broken_data(*args, **kwargs):
        raise MnistUnavailableError("t10k-labels-idx1-ubyte.gz is corrupt (md5 mismatch)")

    monkeypatch.setattr(train_module, "build_data", broken_data)
    assert main([*argv, "--fresh"]) == 2
    err = capsys.readouterr().err
    assert "brc-rl supervised: error: t10k-labels-idx1-ubyte.gz is corrupt" in err and "is as it was" in err
    assert json.loads((tmp_path / RUN / "results.json").read_text()) == old
    assert (tmp_path / RUN / "seed0" / "final_model.pt").exists()
    assert not (tmp_path / (RUN + ".replaced")).exists()
    monkeypatch.undo()
    assert main([*argv, "--fresh"]) == 0  # a good start removes the old folder
    assert not (tmp_path / (RUN + ".replaced")).exists()
    assert (tmp_path / RUN / "command.txt").read_text().count("\n") == 1


def test_finished_seed_without_checkpoint_is_never_retrained_over(tmp_path, capsys):
    argv = [*ARGS, "--logdir", str(tmp_path)]
    assert main(argv) == 0
    seed = tmp_path / RUN / "seed0"
    (seed / "checkpoints" / "checkpoint.pt").unlink()  # as kept in results/: the final model only
    before = (seed / "final_model.pt").read_bytes()
    assert main(argv) == 2
    assert "holds a trained model (final_model.pt) and no checkpoint" in capsys.readouterr().err
    assert (seed / "final_model.pt").read_bytes() == before


@pytest.mark.parametrize("device", ["cuda:7", "tpu"])
def test_unusable_device_is_refused(tmp_path, capsys, device):
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("checks a machine without CUDA")
    assert main([*ARGS, "--logdir", str(tmp_path), "--device", device]) == 2
    assert "brc-rl supervised: error: device" in capsys.readouterr().err
