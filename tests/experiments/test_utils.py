"""brc_rl.experiments.utils and run_dir: atomic writes, the device, the run folder."""

import os

import pytest

from brc_rl.experiments.utils import replace_atomically


def test_writes_through_a_temporary_file_named_by_the_process(tmp_path):
    path = tmp_path / "new" / "folder" / "results.json"
    seen = []

    def write(tmp):
        seen.append(tmp)
        assert not path.exists()  # the target is replaced only once the write is done
        tmp.write_text("new")

    replace_atomically(path, write)
    assert path.read_text() == "new"
    assert seen == [path.with_name(f"results.json.{os.getpid()}.part")]
    assert not seen[0].exists()


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_text("old")

    def half_written(tmp):
        tmp.write_text("ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(path, half_written)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_get_device_is_sb3s_and_refuses_missing_cuda():
    import torch

    from brc_rl.experiments.utils import get_device

    assert get_device("cpu") == torch.device("cpu")
    assert get_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="not a torch device"):
        get_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            get_device("cuda:0")


def test_run_dir_owns_its_paths_and_records_commands(tmp_path):
    from brc_rl.experiments.run_dir import RunDir

    run = RunDir(tmp_path / "r")
    assert not run.is_run()
    assert (run.config.name, run.command.name, run.tensorboard.name) == ("config.yaml", "command.txt", "tensorboard")
    assert (run.checkpoints.name, run.results.name, run.final_model(".pt").name) == (
        "checkpoints", "results.json", "final_model.pt")
    run.record_command(["brc-rl", "train", "a b.yaml"])
    run.record_command(["brc-rl", "train", "--resume", "r"])
    assert run.command.read_text() == "brc-rl train 'a b.yaml'\nbrc-rl train --resume r\n"
    run.write_config({"b": 1, "a": [1, 2]})
    assert run.is_run() and run.config.read_text() == "b: 1\na: [1, 2]\n"
