"""Per-epoch timings in the history and one printed line per epoch (found while making
results/supervised.md: with --no-progress a run printed nothing until it ended)."""

import pytest

from brc_rl.supervised import SupervisedConfig, train_seed

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_every_epoch_is_timed_and_printed(tmp_path, capsys):
    config = SupervisedConfig(benchmark="copy-first", cell="nbrc", seq_len=5, epochs=3, train_size=200,
                              test_size=100, batch_size=50, hidden_size=8, seeds=(0,),
                              eval_every=2, device="cpu")
    result = train_seed(config, 0, tmp_path, progress=False)
    history = result["history"]
    train_times = [h["train_seconds"] for h in history]
    assert train_times == sorted(train_times) and train_times[0] > 0
    assert train_times[-1] == pytest.approx(result["train_seconds"], abs=1e-3)
    # tested at epochs 2 (eval_every) and 3 (the last) only
    assert ["test_seconds" in h for h in history] == [False, True, True]
    assert all(h["test_seconds"] > 0 for h in history[1:])
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    name = "copy-first-seq_len5-nbrc-reduced"
    assert lines[0].startswith(f"{name} seed 0 epoch 1/3: train loss ")
    assert "test" not in lines[0].split("(")[0]
    assert f"test mse {history[2]['test']['mse']:.4f}" in lines[2]
    assert f"test {history[2]['test_seconds']:.1f} s)" in lines[2]
