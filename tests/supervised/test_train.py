"""Training: the loss goes down, nBRC learns copy-first, NaN updates are skipped, a
resumed run ends exactly where an uninterrupted one does, and seeds trained one at a
time share one results file."""

import json

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from brc_rl.supervised import SupervisedConfig, make_dataset, train_seed
from brc_rl.supervised import train as train_module
from brc_rl.supervised.datasets import Batch
from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.train import CHECKPOINT, StopRequest, TrainingInterrupted, run, train_step

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small(**overrides) -> SupervisedConfig:
    settings = dict(benchmark="copy-first", cell="nbrc", seq_len=5, epochs=2, train_size=300,
                    test_size=200, batch_size=50, hidden_size=16, seeds=(0,), device="cpu")
    settings.update(overrides)
    return SupervisedConfig(**settings)


def final_parameters(run_dir):
    return torch.load(run_dir / "checkpoints" / CHECKPOINT, weights_only=False)["model"]


def test_nbrc_learns_copy_first_at_small_t(tmp_path):
    config = SupervisedConfig(benchmark="copy-first", cell="nbrc", seq_len=5, epochs=6, train_size=2000,
                              test_size=1000, seeds=(0,), device="cpu")
    result = train_seed(config, 0, tmp_path, progress=False)
    losses = [h["train_loss"] for h in result["history"]]
    assert losses[-1] < 0.5 * losses[0]
    # guessing 0 scores about 1.0; seeds 0, 1, 2 reach 0.066, 0.075, 0.062
    assert result["mse"] < 0.2, result["mse"]
    assert result["skipped_updates"] == 0 and result["updates"] == 6 * 20


@pytest.mark.parametrize("cell", ["gru", "lstm", "brc"])
def test_every_cell_trains_and_gates_are_logged_when_available(tmp_path, cell):
    result = train_seed(small(cell=cell, epochs=1), 0, tmp_path, progress=False)
    record = result["history"][0]
    assert 0 < record["test"]["mse"] < 10
    model = SequenceModel(cell, 1, 1)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tags = {tag for tag in events.Tags()["scalars"] if tag.startswith("memory/")}
    if model.has_gates:
        assert len(record["gates"]) == 2
        for layer in record["gates"]:
            assert 0 <= layer["bistable_fraction"] <= 1 and 0 < layer["mean_c"] < 1 and 0 < layer["mean_a"] < 2
        stats = ("bistable_fraction", "mean_a", "mean_c")
        assert tags == {f"memory/layer{k}/{stat}" for k in range(2) for stat in stats}
        assert events.Scalars("memory/layer1/mean_c")[0].value == pytest.approx(record["gates"][1]["mean_c"])
    else:
        assert record["gates"] == [] and tags == set()
    final = torch.load(tmp_path / "final_model.pt", weights_only=False)
    assert final["seed"] == 0 and final["protocol"]["cell"] == cell
    assert set(final["model"]) == set(SequenceModel(cell, 1, 1).state_dict())


@pytest.mark.parametrize("cell, stats", [("lsnn", ("firing_rate", "mean_adaptation")), ("src", ("spike_rate",))])
def test_spiking_cells_train_an_epoch_and_log_their_stats(tmp_path, cell, stats):
    result = train_seed(small(cell=cell, epochs=1), 0, tmp_path, progress=False)
    record = result["history"][0]
    assert 0 < record["test"]["mse"] < 10 and result["skipped_updates"] == 0
    assert [set(layer) for layer in record["gates"]] == [set(stats)] * 2
    for layer in record["gates"]:  # rates are spikes per neuron and step; beta b <= beta = 1.6
        assert all(0 <= value <= (1.6 if stat == "mean_adaptation" else 1) for stat, value in layer.items())
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tags = {tag for tag in events.Tags()["scalars"] if tag.startswith("memory/")}
    assert tags == {f"memory/layer{k}/{stat}" for k in range(2) for stat in stats}
    assert events.Scalars(f"memory/layer0/{stats[0]}")[0].value == pytest.approx(record["gates"][0][stats[0]])


def test_denoising_and_classification_losses(tmp_path):
    import numpy as np

    config = small(benchmark="denoising", seq_len=20, forget=5, epochs=1)
    result = train_seed(config, 0, tmp_path / "d", progress=False)
    assert result["mse"] > 0
    # pvlmnist on synthetic images: readout at each sample's own length
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    x, y, lengths = make_dataset("pvlmnist", None, images=images, labels=np.arange(20) % 10,
                                 max_black_lines=6)
    model = SequenceModel("nbrc", 28, 10, readout="length", hidden_size=8)
    pred = model(x, lengths)
    for i in (0, 5):
        alone = model(x[i:i + 1, : int(lengths[i])], lengths[i:i + 1])
        assert torch.allclose(pred[i], alone[0], atol=1e-6)


def test_update_with_nan_gradient_is_skipped():
    config = small()
    torch.manual_seed(0)
    model = SequenceModel("nbrc", 1, 1, hidden_size=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(4, 5, 1)
    x[2, 3, 0] = float("nan")
    loss, applied = train_step(config, model, optimizer, Batch(x, torch.randn(4, 1)), "cpu")
    assert not applied
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    clean = Batch(x.nan_to_num(), torch.randn(4, 1))
    loss, applied = train_step(config, model, optimizer, clean, "cpu")
    assert applied
    assert not all(torch.equal(before[k], v) for k, v in model.state_dict().items())


class StopAfter(StopRequest):
    """Requests a stop once ``updates`` updates have been checked."""

    def __init__(self, updates):
        super().__init__()
        self.left = updates

    @property
    def requested(self):
        self.left -= 1
        return self.left < 0

    @requested.setter
    def requested(self, value):
        pass


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path):
    config = small()  # 2 epochs of 6 updates
    reference = train_seed(config, 0, tmp_path / "ref", progress=False)

    # interrupted after epoch 1 (6 updates), then resumed
    with pytest.raises(TrainingInterrupted):
        train_seed(config, 0, tmp_path / "a", stop=StopAfter(6), progress=False)
    resumed_a = train_seed(config, 0, tmp_path / "a", progress=False)
    # interrupted in the middle of epoch 2, then resumed
    with pytest.raises(TrainingInterrupted):
        train_seed(config, 0, tmp_path / "b", stop=StopAfter(9), progress=False)
    assert torch.load(tmp_path / "b" / "checkpoints" / CHECKPOINT, weights_only=False)["state"]["batch"] == 4
    resumed_b = train_seed(config, 0, tmp_path / "b", progress=False)
    # a finished 1-epoch run extended to 2 epochs
    train_seed(config.model_copy(update={"epochs": 1}), 0, tmp_path / "c", progress=False)
    extended = train_seed(config, 0, tmp_path / "c", progress=False)

    ref = final_parameters(tmp_path / "ref")
    for name in ("a", "b", "c"):
        params = final_parameters(tmp_path / name)
        assert all(torch.equal(ref[k], params[k]) for k in ref), name
    for result in (resumed_a, resumed_b, extended):
        assert result["mse"] == reference["mse"]
        assert result["updates"] == reference["updates"] == 12
        assert [h["train_loss"] for h in result["history"]] == \
            [h["train_loss"] for h in reference["history"]]


def test_finished_run_is_not_trained_again(tmp_path):
    config = small(epochs=1)
    first = train_seed(config, 0, tmp_path, progress=False)
    stamp = (tmp_path / "checkpoints" / CHECKPOINT).stat().st_mtime_ns
    events = sorted(tmp_path.glob("events.out.tfevents.*"))
    again = train_seed(config, 0, tmp_path, progress=False)
    assert again["mse"] == first["mse"]
    assert (tmp_path / "checkpoints" / CHECKPOINT).stat().st_mtime_ns == stamp
    assert sorted(tmp_path.glob("events.out.tfevents.*")) == events


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    train_seed(small(epochs=2), 0, tmp_path, progress=False)
    with pytest.raises(ValueError, match="lr: 0.001 -> 0.01"):
        train_seed(small(epochs=2, lr=1e-2), 0, tmp_path, progress=False)
    with pytest.raises(ValueError, match="2 epochs done, more than the 1 asked"):
        train_seed(small(epochs=1), 0, tmp_path, progress=False)


def test_config_validation():
    with pytest.raises(ValueError, match="copy-first.*denoising.*plmnist.*psmnist.*pvlmnist"):
        SupervisedConfig(benchmark="copy-last", cell="nbrc")
    with pytest.raises(ValueError, match="takes no forget"):
        SupervisedConfig(benchmark="copy-first", cell="nbrc", forget=5)
    full = SupervisedConfig(benchmark="denoising", cell="nbrc")
    assert full.reduced() == [] and full.dataset_params() == {"seq_len": 400, "forget": 200}
    assert full.sizes() == (40_000, 50_000)
    assert full.run_name() == "denoising-seq_len400-forget200-nbrc"
    mnist = SupervisedConfig(benchmark="pvlmnist", cell="gru", epochs=5, seeds=(0,))
    assert mnist.dataset_params() == {"max_black_lines": 472} and mnist.sizes() == (60_000, 10_000)
    assert mnist.reduced() == ["epochs=5 (paper 50)", "1 seed(s) (paper 3)"]


def test_seed_count_does_not_rename_the_run():
    # Seeds are subfolders of one run: the paper's settings with one seed are not "-reduced".
    one_seed = SupervisedConfig(benchmark="copy-first", cell="nbrc", seeds=(0,))
    assert one_seed.run_name() == "copy-first-seq_len300-nbrc"
    assert one_seed.reduced() == ["1 seed(s) (paper 3)"]
    assert SupervisedConfig(benchmark="copy-first", cell="nbrc", epochs=8, seeds=(0,)).run_name() == (
        "copy-first-seq_len300-nbrc-reduced")


def test_seeds_trained_in_separate_invocations_share_results(tmp_path):
    config = small(epochs=1, logdir=str(tmp_path))
    first = run(config, progress=False, command="first")
    second = run(config.model_copy(update={"seeds": (1,)}), progress=False, command="second")
    assert [r["seed"] for r in second["seeds"]] == [0, 1]
    assert [r["command"] for r in second["seeds"]] == ["first", "second"]
    assert second["protocol"]["seeds"] == [0, 1]
    assert second["protocol"]["reduced_reasons"][-1] == "2 seed(s) (paper 3)"
    mses = [first["seeds"][0]["mse"], second["seeds"][1]["mse"]]
    assert second["summary"]["mse"]["n"] == 2
    assert second["summary"]["mse"]["mean"] == pytest.approx(np.mean(mses))
    assert set(second["history"]) == {"0", "1"}
    on_disk = json.loads((tmp_path / config.run_name() / "results.json").read_text())
    assert on_disk["summary"] == second["summary"]
    # A file from before commands were stored per seed keeps its command for its seeds.
    for r in on_disk["seeds"]:
        del r["command"]
    on_disk["command"] = "old"
    (tmp_path / config.run_name() / "results.json").write_text(json.dumps(on_disk))
    third = run(config.model_copy(update={"seeds": (2,)}), progress=False, command="third")
    assert [r["command"] for r in third["seeds"]] == ["old", "old", "third"]
    # Other settings (here more epochs) start the results afresh.
    longer = run(config.model_copy(update={"epochs": 2, "seeds": (1,)}), progress=False)
    assert [r["seed"] for r in longer["seeds"]] == [1]


def test_seeds_trained_side_by_side_keep_each_others_results(tmp_path, monkeypatch):
    # Invocation A (seed 1) is still training when invocation B (seed 2) finishes and
    # writes results.json; A must merge B's seed, not overwrite it with what it read at
    # its start.
    config = small(epochs=1, logdir=str(tmp_path))
    run(config, progress=False, command="seed 0")
    original = train_module.SeedTraining.train

    def seed_2_finishes_meanwhile(job, *args):
        if job.seed == 1:
            run(job.config.model_copy(update={"seeds": (2,)}), progress=False, command="B")
        return original(job, *args)

    monkeypatch.setattr(train_module.SeedTraining, "train", seed_2_finishes_meanwhile)
    results = run(config.model_copy(update={"seeds": (1,)}), progress=False, command="A")
    assert [(r["seed"], r["command"]) for r in results["seeds"]] == [
        (0, "seed 0"), (1, "A"), (2, "B")]
    assert results["summary"]["mse"]["n"] == 3
    assert not list((tmp_path / config.run_name()).glob("*.part"))


def test_denoising_recall_script_splits_the_test_mse_by_answer_step(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).parents[2] / "scripts" / "denoising_recall.py"
    spec = importlib.util.spec_from_file_location("denoising_recall", script)
    recall = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recall)
    config = small(benchmark="denoising", seq_len=20, forget=5, epochs=1)
    result = train_seed(config, 0, tmp_path / "seed0", progress=False)
    protocol, epochs, mse, to_mean = recall.per_step_mse(tmp_path, 0, None)
    assert protocol["cell"] == "nbrc" and epochs == 1 and len(mse) == 5 and len(to_mean) == 5
    assert np.mean(mse) == pytest.approx(result["mse"], rel=1e-5)
    # answering the mean of the five values: no distance to it, error (x_k - m)^2 to each
    target = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 0.0, 0.0, -5.0]])
    mean = target.mean(1, keepdim=True).expand(2, 5)
    squared, distance = recall.answer_errors(mean, target)
    assert distance.tolist() == [0.0] * 5
    assert squared.tolist() == pytest.approx([4 + 1, 1 + 1, 0 + 1, 1 + 1, 4 + 16])
    # answering 0: the distance to the mean is m^2 at every step
    assert recall.answer_errors(torch.zeros(2, 5), target)[1].tolist() == [9 + 1] * 5
    with pytest.raises(ValueError, match=r"shape \(N, 5\)"):
        recall.answer_errors(torch.zeros(2, 4), torch.zeros(2, 4))
    train_seed(small(epochs=1), 0, tmp_path / "copy" / "seed0", progress=False)
    with pytest.raises(ValueError, match="expected 'denoising'"):
        recall.per_step_mse(tmp_path / "copy", 0, None)
    with pytest.raises(FileNotFoundError, match="run folder"):
        recall.per_step_mse(tmp_path / "missing", 0, None)
