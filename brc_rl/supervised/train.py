"""Training and evaluation of one benchmark, one seed at a time, with checkpoints.

A run is a run folder (:class:`~brc_rl.experiments.run_dir.RunDir`)
``<logdir>/<run name>/`` with ``config.yaml`` (the protocol), ``command.txt`` and
``results.json``, and one run folder per seed, ``seed<k>/``, with ``tensorboard/``,
``checkpoints/checkpoint.pt`` (model, optimizer, RNG states, epoch, position inside the
epoch, history; written atomically after every epoch, every ``checkpoint_every_s``
seconds, and when a stop is requested through :func:`stop_on_signals`) and, once the
seed has trained every epoch, ``final_model.pt`` (``{"protocol", "seed", "model"}``:
the state dict of :class:`~brc_rl.supervised.model.SequenceModel`). Starting a run whose
seed folder has a checkpoint resumes it; the batch order of an epoch depends only on
(seed, epoch), so a resumed run ends with the parameters of an uninterrupted one.
Nothing is written before the data and the model have been built.

Logged metrics (tensorboard step = number of updates so far):
    train/loss: mean training loss of the epoch (MSE or cross-entropy).
    train/batch_loss: loss of every 10th update.
    train/skipped_updates: updates skipped so far because a gradient was NaN or Inf.
    test/mse, test/accuracy, test/macro_f1: the benchmark's test metric(s).
    memory/layer{k}/bistable_fraction, memory/layer{k}/mean_a, memory/layer{k}/mean_c:
        share of units with a > 1 (bistable), mean of the gates a and c, over the valid
        steps of 100 test sequences (the scheme of :mod:`brc_rl.nn.stats`, shared with
        RL); only for cells with ``forward_with_gates``. The spiking cells log theirs
        instead: memory/layer{k}/firing_rate and mean_adaptation (lsnn), spike_rate (src).
    memory/vaa_before_warmup, memory/vaa_after_warmup, memory/layer{k}/vaa_{before,after}_warmup
        (step 0), memory/warmup_loss, memory/layer{k}/warmup_vaa_star (warm-up step): with
        ``warmup``, see :func:`brc_rl.experiments.warmup.warmup_scalars`; the whole record
        is in ``seed<k>/warmup.json``.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from brc_rl.experiments.run_dir import RunDir
from brc_rl.experiments.utils import get_device, replace_atomically, write_json
from brc_rl.experiments.warmup import log_warmup, save_warmup, summary
from brc_rl.nn.stats import gate_means, gate_stats, gate_sums, memory_scalars
from brc_rl.supervised.datasets import Batch, SequenceData, make_data
from brc_rl.supervised.metrics import accuracy, macro_f1
from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.protocol import RESUME_KEYS, SupervisedConfig
from brc_rl.supervised.warmup import warm_up

CHECKPOINT = "checkpoint.pt"
LOG_EVERY = 10
GATE_PROBE = 100
EVAL_BATCH = 500


def seed_dir(run_dir: str | os.PathLike[str], seed: int) -> RunDir:
    """The run folder of ``seed`` inside a run: ``<run_dir>/seed<k>/``."""
    return RunDir(Path(run_dir) / f"seed{seed}")


def checkpoint_path(run_dir: str | os.PathLike[str], seed: int) -> Path:
    """Where ``seed``'s checkpoint lives in a run: ``<run_dir>/seed<k>/checkpoints/checkpoint.pt``."""
    return seed_dir(run_dir, seed).checkpoints / CHECKPOINT


class TrainingInterrupted(Exception):
    """A stop was requested; the run was checkpointed and can be resumed."""


@dataclass
class StopRequest:
    """Set ``requested`` to make training checkpoint and stop after the current update."""

    requested: bool = False


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Turn the first SIGINT / SIGTERM into a :class:`StopRequest`; a second one aborts."""
    stop = StopRequest()

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class TrainState:
    """Where a seed's training stands (all of it goes into the checkpoint)."""

    epoch: int = 0  # completed epochs
    batch: int = 0  # updates done in the current epoch
    updates: int = 0  # updates done in all
    skipped: int = 0  # updates skipped for a NaN / Inf gradient
    loss_sum: float = 0.0  # over the current epoch's applied updates
    loss_count: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    warmup: dict[str, Any] | None = None  # VAA before and after the warm-up, if any


def build_data(config: SupervisedConfig, seed: int) -> tuple[SequenceData, SequenceData]:
    """Training and test sets of ``seed``: synthetic draws use seeds 2k and 2k + 1."""
    classification = config.spec.classification
    params: dict[str, Any] = dict(config.dataset_params())
    splits = [{"split": "train"}, {"split": "test"}] if classification else [{}, {}]
    if classification:
        params.update(permutation_seed=config.permutation_seed, source=config.mnist)
    train, test = (make_data(config.spec.dataset, n, 2 * seed + i, **params, **split)
                   for i, (n, split) in enumerate(zip(config.sizes(), splits)))
    return train, test


def build_model(config: SupervisedConfig, train: SequenceData) -> SequenceModel:
    """The benchmark's :class:`SequenceModel` for ``config`` (partial warm-up memory if asked)."""
    partial = config.warmup is not None and config.warmup.partial
    return SequenceModel(config.cell, train.input_size, train.output_size, config.spec.readout,
                         config.hidden_size, config.num_layers, partial_warmup=partial)


def to_device(batch: Batch, device: torch.device | str) -> tuple[Tensor, Tensor, Tensor | None]:
    """Move a batch; variable-length inputs are cut to the batch's longest sequence."""
    x = batch.x if batch.lengths is None else batch.x[:, : int(batch.lengths.max())]
    lengths = None if batch.lengths is None else batch.lengths.to(device)
    return x.to(device), batch.y.to(device), lengths


def train_step(config: SupervisedConfig, model: SequenceModel, optimizer: torch.optim.Optimizer,
               batch: Batch, device: torch.device | str) -> tuple[float, bool]:
    """One Adam update of the cross-entropy (classification) or the MSE averaged over every
    output; skipped (returns False) when the loss or a gradient is not finite."""
    x, y, lengths = to_device(batch, device)
    optimizer.zero_grad(set_to_none=True)
    loss = (F.cross_entropy if config.spec.classification else F.mse_loss)(model(x, lengths), y)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    finite = bool(torch.isfinite(loss)) and all(bool(torch.isfinite(g).all()) for g in grads)
    if finite:
        optimizer.step()
    return float(loss.detach()), finite


@torch.no_grad()
def evaluate(config: SupervisedConfig, model: SequenceModel, data: SequenceData,
             device: torch.device | str) -> dict[str, float]:
    """The benchmark's test metrics over all of ``data``."""
    model.eval()
    squared, count, preds, targets = 0.0, 0, [], []
    for index in torch.arange(len(data)).split(max(EVAL_BATCH, config.batch_size)):
        x, y, lengths = to_device(data.batch(index), device)
        pred = model(x, lengths)
        if config.spec.classification:
            preds.append(pred.argmax(-1).cpu())
            targets.append(y.cpu())
        else:
            squared += float(((pred - y) ** 2).sum())
            count += y.numel()
    model.train()
    if not config.spec.classification:
        return {"mse": squared / count}
    pred_all, target_all = torch.cat(preds), torch.cat(targets)
    return {"accuracy": accuracy(pred_all, target_all),
            "macro_f1": macro_f1(pred_all, target_all, data.output_size)}


def train_seed(
    config: SupervisedConfig,
    seed: int,
    run_dir: str | os.PathLike[str] | RunDir,
    stop: StopRequest | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train and evaluate one seed, resuming from its checkpoint if present.

    Args:
        config: the run's settings.
        seed: seeds the initialisation, the batch order and the synthetic data.
        run_dir: this seed's run folder (see :func:`seed_dir`).
        stop: checked after every update; when set, checkpoint and raise.
        progress: show a tqdm bar per epoch.

    Returns:
        ``{"seed", <test metrics>, "epochs", "updates", "skipped_updates",
        "train_seconds", "history"}``; train_seconds counts the updates only.

    Raises:
        TrainingInterrupted: ``stop.requested`` became true (checkpoint written).
        ValueError: the checkpoint holds other settings, or more epochs than asked.
    """
    return SeedTraining(config, seed, RunDir(run_dir)).train(stop, progress)


class SeedTraining:
    """The data, model, optimizer and state of one seed's training (see :func:`train_seed`).

    Building it checks the settings, the data and the checkpoint; it writes nothing.
    """

    def __init__(self, config: SupervisedConfig, seed: int, run: RunDir):
        self.config, self.seed, self.run = config, seed, run
        self.device, self.protocol = get_device(config.device), config.protocol()
        self.train_data, self.test_data = build_data(config, seed)
        torch.manual_seed(seed)
        self.model = build_model(config, self.train_data).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.path = run.checkpoints / CHECKPOINT
        if not self.path.exists() and run.final_model(".pt").exists():
            raise ValueError(
                f"{run.path} holds a trained model ({run.final_model('.pt').name}) and no checkpoint to "
                "resume; it is kept as it is: use another --logdir, or --fresh to train it again"
            )
        self.state = self.load() if self.path.exists() else TrainState()
        if self.state.epoch > config.epochs:
            raise ValueError(f"{self.path} has {self.state.epoch} epochs done, more than the "
                             f"{config.epochs} asked")

    def train(self, stop: StopRequest | None = None, progress: bool = True) -> dict[str, Any]:
        """Train the remaining epochs, write ``final_model.pt``; return the seed's results."""
        config, state, final = self.config, self.state, self.run.final_model(".pt")
        trains = state.epoch < config.epochs
        if trains:
            with SummaryWriter(str(self.run.tensorboard), purge_step=state.updates or None) as writer:
                if config.warmup is not None and state.updates == 0:
                    self.warm_up(writer)
                while state.epoch < config.epochs:
                    self.train_epoch(writer, stop or StopRequest(), progress)
                    self.end_epoch(writer)
                    self.save()
        if trains or not final.exists():  # the protocol, the seed and the model's state dict
            payload = {"protocol": self.protocol, "seed": self.seed, "model": self.model.state_dict()}
            replace_atomically(final, lambda tmp: torch.save(payload, tmp))
        return {"seed": self.seed, **state.history[-1]["test"], "epochs": state.epoch,
                "updates": state.updates, "skipped_updates": state.skipped,
                "train_seconds": round(state.train_seconds, 3), "history": state.history,
                **({} if state.warmup is None else {"warmup": state.warmup})}

    def warm_up(self, writer: SummaryWriter) -> None:
        """Warm the memory up on training sequences; log the VAA before and after, write ``warmup.json``."""
        record = warm_up(self.config, self.model, self.train_data)
        log_warmup(writer, {"memory": record})
        save_warmup(self.run.path, {"memory": record})
        self.state.warmup = {"before": record.before and record.before.to_dict(),
                             "after": record.after and record.after.to_dict(), "seconds": round(record.seconds, 3)}
        tqdm.write(f"{self.config.run_name()} seed {self.seed}: {summary({'memory': record})}", file=sys.stderr)

    def save(self) -> None:
        """Write the checkpoint atomically (a crash while writing keeps the previous one)."""
        payload = {
            "protocol": self.protocol, "seed": self.seed, "state": self.state.__dict__,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
        }
        replace_atomically(self.path, lambda tmp: torch.save(payload, tmp))

    def load(self) -> TrainState:
        """Restore model, optimizer and RNG states from the checkpoint; refuse one of other settings."""
        payload = torch.load(self.path, map_location="cpu", weights_only=False)
        diff = [f"{k}: {payload['protocol'].get(k)!r} -> {self.protocol[k]!r}"
                for k in RESUME_KEYS if payload["protocol"].get(k) != self.protocol[k]]
        if diff:
            raise ValueError(f"{self.path} was written with other settings ({'; '.join(diff)}); use another "
                             "--logdir, or --fresh to discard it")
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        rng = payload["rng"]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return TrainState(**payload["state"])

    def train_epoch(self, writer: SummaryWriter, stop: StopRequest, progress: bool) -> None:
        """The remaining updates of the current epoch; checkpoint on stop or on time."""
        config, state = self.config, self.state
        # The sample order of an epoch is a function of (seed, epoch) only.
        order = np.random.SeedSequence([self.seed, state.epoch]).generate_state(1, dtype=np.uint64)[0]
        generator = torch.Generator().manual_seed(int(order))
        batches = torch.randperm(len(self.train_data), generator=generator).split(config.batch_size)
        bar = tqdm(batches[state.batch:], initial=state.batch, total=len(batches), leave=False,
                   desc=f"seed {self.seed} epoch {state.epoch + 1}/{config.epochs}",
                   disable=not progress)
        last_save = time.monotonic()
        for index in bar:
            started = time.perf_counter()
            loss, applied = train_step(config, self.model, self.optimizer,
                                       self.train_data.batch(index), self.device)
            state.train_seconds += time.perf_counter() - started
            state.batch, state.updates = state.batch + 1, state.updates + 1
            if applied:
                state.loss_sum, state.loss_count = state.loss_sum + loss, state.loss_count + 1
            else:
                state.skipped += 1
            if state.updates % LOG_EVERY == 0:
                writer.add_scalar("train/batch_loss", loss, state.updates)
            bar.set_postfix(loss=f"{loss:.4f}")
            if stop.requested or time.monotonic() - last_save > config.checkpoint_every_s:
                self.save()
                last_save = time.monotonic()
                if stop.requested:
                    raise TrainingInterrupted(f"stopped; resume from {self.path}")

    def end_epoch(self, writer: SummaryWriter) -> None:
        """Record the epoch (test metrics, gates) in the history and tensorboard."""
        config, state = self.config, self.state
        state.epoch += 1
        record: dict[str, Any] = {
            "epoch": state.epoch, "updates": state.updates, "skipped_updates": state.skipped,
            "train_loss": state.loss_sum / state.loss_count if state.loss_count else float("nan"),
        }
        writer.add_scalar("train/loss", record["train_loss"], state.updates)
        writer.add_scalar("train/skipped_updates", state.skipped, state.updates)
        tests = timing = ""
        if state.epoch % config.eval_every == 0 or state.epoch == config.epochs:
            started = time.perf_counter()
            record["test"] = evaluate(config, self.model, self.test_data, self.device)
            # Gates on the first 100 test sequences, steps t < length only; none without gates.
            record["gates"] = []
            if self.model.has_gates:
                self.model.eval()
                probe = torch.arange(min(GATE_PROBE, len(self.test_data)))
                x, _, lengths = to_device(self.test_data.batch(probe), self.device)
                with torch.no_grad():
                    _, gates = self.model.forward_with_gates(x, lengths)
                self.model.train()
                valid = None if lengths is None else torch.arange(x.shape[1], device=x.device) < lengths[:, None]
                record["gates"] = gate_means(*gate_sums(gates, valid), gate_stats(gates))
            scalars = {**{f"test/{name}": value for name, value in record["test"].items()},
                       **memory_scalars(record["gates"])}
            for key, value in scalars.items():
                writer.add_scalar(key, value, state.updates)
            record["test_seconds"] = round(time.perf_counter() - started, 3)
            tests = "".join(f", test {name} {value:.4f}" for name, value in record["test"].items())
            timing = f", test {record['test_seconds']:.1f} s"
        record["train_seconds"] = round(state.train_seconds, 3)
        state.history.append(record)
        state.batch, state.loss_sum, state.loss_count = 0, 0.0, 0
        # train_seconds is cumulative (updates only); test_seconds covers this epoch's evaluation and gate probe.
        tqdm.write(f"{config.run_name()} seed {self.seed} epoch {state.epoch}/{config.epochs}: train loss "
                   f"{record['train_loss']:.4f}{tests} (updates so far {record['train_seconds']:.1f} s{timing})",
                   file=sys.stderr)


def run(
    config: SupervisedConfig,
    stop: StopRequest | None = None,
    progress: bool = True,
    command: str | None = None,
    on_start: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Train every seed of ``config`` and write ``<logdir>/<run name>/results.json``.

    Seeds finished by other invocations into the same run folder, with the same
    settings and epochs, stay in ``results.json`` and count in the mean +- std, so the
    seeds of a long protocol can be trained one at a time (``--seeds 0``, then
    ``--seeds 1`` ...) or side by side (the file is read when training ends). A results
    file of other settings or epochs is replaced; an earlier seed without its own
    ``command`` (older files) gets the file's command.

    Args:
        config: the settings.
        stop: see :func:`train_seed`.
        progress: show progress bars.
        command: the command line, stored with the results of each seed it trained and
            appended to the run's ``command.txt``.
        on_start: called once the first seed's data, model and checkpoint have been
            checked, before anything is written.

    Returns:
        The results: benchmark, cell, protocol, per-seed metrics and their mean +- std
        (population, ddof = 0).

    Raises:
        ValueError: if ``results.json`` is there but is no results file.
    """
    run = RunDir(Path(config.logdir) / config.run_name())
    quiet = not progress or len(config.seeds) == 1
    trained = []
    for i, seed in enumerate(tqdm(config.seeds, desc=config.run_name(), disable=quiet)):
        job = SeedTraining(config, seed, seed_dir(run.path, seed))
        if i == 0:
            if on_start is not None:
                on_start()
            run.write_config({k: v for k, v in config.protocol().items() if k != "seeds"})
            if command is not None:
                run.record_command(shlex.split(command))
        trained.append({**job.train(stop, progress), "command": command})
    # Read the earlier seeds only now: another invocation training other seeds of this
    # run side by side may have written results.json since this one started.
    earlier: list[dict[str, Any]] = []
    if run.results.exists():
        try:
            old = json.loads(run.results.read_text())
            protocol, seeds, history = old["protocol"], old["seeds"], old["history"]
        except (json.JSONDecodeError, KeyError) as err:
            raise ValueError(f"{run.results} is not a results file of brc-rl supervised ({err}); "
                             "move it away to start this run") from err
        if all(protocol.get(k) == config.protocol()[k] for k in (*RESUME_KEYS, "epochs")):
            earlier = [{"command": old.get("command"), **r, "history": history[str(r["seed"])]}
                       for r in seeds if r["seed"] not in config.seeds]
    per_seed = sorted(earlier + trained, key=lambda r: r["seed"])
    merged = config.model_copy(update={"seeds": tuple(r["seed"] for r in per_seed)})
    metrics = config.spec.metrics
    results = {
        "format": "brc_rl.supervised.results/1",
        "benchmark": config.benchmark, "cell": config.cell, "protocol": merged.protocol(),
        "metrics": list(metrics),
        "summary": {m: {"mean": float(np.mean(values := [r[m] for r in per_seed])), "std": float(np.std(values)),
                        "n": len(per_seed)} for m in metrics},
        "seeds": [{k: v for k, v in r.items() if k != "history"} for r in per_seed],
        "history": {str(r["seed"]): r["history"] for r in per_seed},
        "command": command, "torch": torch.__version__,
        "device": str(get_device(config.device)),
    }
    write_json(run.results, results)
    return results

