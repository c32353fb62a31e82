"""``brc-rl supervised --warmup`` and ``brc-rl vaa`` on supervised runs (tiny runs)."""

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from brc_rl.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["supervised", "copy-first", "--cell", "gru", "--seq-len", "8", "--epochs", "1", "--train-size", "64",
        "--test-size", "32", "--batch-size", "32", "--hidden-size", "8", "--seeds", "0", "--no-progress"]


def test_warmup_then_training_and_vaa_of_the_run(tmp_path, capsys):
    argv = [*TINY, "--logdir", str(tmp_path), "--warmup", "--warmup-steps", "4", "--warmup-batch-size", "8",
            "--warmup-measure-steps", "50", "--warmup-measure-samples", "16"]
    assert main(argv) == 0
    run = tmp_path / "copy-first-seq_len8-gru-warmup-reduced"
    record = json.loads((run / "seed0" / "warmup.json").read_text())["memory"]
    assert len(record["losses"]) == len(record["vaa_star"]) == 4 and len(record["vaa_star"][0]) == 2
    assert record["before"]["samples"] == 16 and len(record["after"]["layers"]) == 2
    results = json.loads((run / "results.json").read_text())
    assert results["seeds"][0]["warmup"]["after"] == record["after"]
    assert results["protocol"]["warmup"]["steps"] == 4
    events = EventAccumulator(str(run / "seed0" / "tensorboard"))
    events.Reload()
    assert {"memory/vaa_before_warmup", "memory/layer1/vaa_after_warmup", "memory/warmup_loss",
            "memory/layer0/warmup_vaa_star", "train/loss"} <= set(events.Tags()["scalars"])
    assert "warm-up of memory: VAA" in capsys.readouterr().err

    for path in (run, run / "seed0" / "final_model.pt"):
        assert main(["vaa", str(path), "--steps", "50", "--samples", "16"]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith("seed0: VAA ") and "layer 1" in printed
    assert main(["vaa", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
