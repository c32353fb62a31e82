"""Warm-up in runs: its config section, its logs, and the VAA of a trained RL run.

``policy.warmup`` (RL configs, :class:`PolicyWarmupConfig`) and ``--warmup``
(``brc-rl supervised``, :class:`WarmupConfig`) warm the memory up
(:func:`brc_rl.nn.warmup.warmup`) before training. A run then holds ``warmup.json``
(``{memory name: record}``, :meth:`brc_rl.nn.warmup.WarmupRecord.to_dict`) and the
tensorboard keys of :func:`warmup_scalars`. Importing this module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from brc_rl.experiments.schema import ConfigModel

if TYPE_CHECKING:
    from brc_rl.nn import VAA
    from brc_rl.nn.warmup import WarmupRecord

WARMUP_FILE = "warmup.json"


class WarmupConfig(ConfigModel):
    """Warm-up to multistability before training (Lambrechts et al. 2023); defaults are the paper's."""

    steps: int = Field(100, ge=0)
    """Warm-up steps (Adam updates of the loss (VAA* - target)^2); 0 only measures the VAA."""
    lr: float = Field(1e-2, gt=0)
    """Adam's learning rate."""
    batch_size: int = Field(32, ge=2)
    """Sequences per step."""
    target: float = Field(0.95, gt=0, le=1)
    """The VAA* each layer is pulled to."""
    eps: float = Field(1e-4, gt=0)
    """Distance under which two final states are one attractor."""
    stabilisation_increment: int = Field(10, ge=0)
    """Curriculum: at step k the stabilisation length is drawn in 1 .. min(1 + increment * k, stabilisation_max)."""
    stabilisation_max: int = Field(200, ge=1)
    """Largest stabilisation length."""
    measure_steps: int = Field(10_000, ge=0)
    """Stabilisation steps of the exact VAA measured before and after (0: not measured)."""
    measure_samples: int = Field(200, ge=2)
    """Sequences of each estimate of the exact VAA measures."""
    measure_repeats: int = Field(10, ge=1)
    """Estimates averaged in each exact VAA measure (each with its own constant input)."""
    partial: bool = False
    """Partial warm-up: every layer is two memories of hidden_size / 2, only the first warmed up."""

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`brc_rl.nn.warmup.warmup`."""
        return self.model_dump(exclude={"partial", "rollout_steps"})


class PolicyWarmupConfig(WarmupConfig):
    """Warm-up of the policy's memories on the untrained agent's own episodes (section ``policy.warmup``)."""

    rollout_steps: int = Field(1024, ge=1)
    """Steps the untrained agent plays in each environment to collect the warm-up's episodes (not counted in the
    run's env steps)."""


def warmup_scalars(name: str, record: WarmupRecord) -> list[tuple[str, float, int]]:
    """``(key, value, step)`` of a memory's warm-up, logged to tensorboard.

    At step 0 the exact VAA, overall and per layer, before and after:
    ``{name}/vaa_before_warmup``, ``{name}/vaa_after_warmup``,
    ``{name}/layer{k}/vaa_before_warmup``, ``{name}/layer{k}/vaa_after_warmup``; at warm-up
    step s = 1 .. steps: ``{name}/warmup_loss`` and ``{name}/layer{k}/warmup_vaa_star``.
    ``name`` is ``memory`` (the model's, or the actor's) or ``critic_memory``.
    """
    rows = []
    for when, measure in (("before", record.before), ("after", record.after)):
        if measure is not None:
            rows.append((f"{name}/vaa_{when}_warmup", measure.overall, 0))
            rows += [(f"{name}/layer{k}/vaa_{when}_warmup", v, 0) for k, v in enumerate(measure.layers)]
    for step, (loss, values) in enumerate(zip(record.losses, record.vaa_star), start=1):
        rows.append((f"{name}/warmup_loss", loss, step))
        rows += [(f"{name}/layer{k}/warmup_vaa_star", v, step) for k, v in enumerate(values)]
    return rows


def log_warmup(writer: Any, records: Mapping[str, WarmupRecord]) -> None:
    """Write :func:`warmup_scalars` of every memory through a tensorboard ``SummaryWriter``."""
    for name, record in records.items():
        for key, value, step in warmup_scalars(name, record):
            writer.add_scalar(key, value, step)


def save_warmup(folder: str | Path, records: Mapping[str, WarmupRecord]) -> Path:
    """Write ``{name: record}`` to ``folder/warmup.json``; return its path."""
    from brc_rl.experiments.utils import write_json

    path = Path(folder) / WARMUP_FILE
    write_json(path, {name: record.to_dict() for name, record in records.items()})
    return path


def summary(records: Mapping[str, WarmupRecord]) -> str:
    """One line per memory: VAA before -> after (overall, then per layer)."""
    def fmt(measure: VAA | None) -> str:
        if measure is None:
            return "not measured"
        return f"{measure.overall:.3f} (layers {', '.join(f'{v:.3f}' for v in measure.layers)})"

    return "\n".join(f"warm-up of {name}: VAA {fmt(r.before)} -> {fmt(r.after)}, {len(r.losses)} steps, "
                     f"{r.seconds:.1f} s" for name, r in records.items())


def run_vaa(path: str | Path, samples: int = 200, steps: int = 10_000, eps: float = 1e-4, repeats: int = 10,
            rollout_steps: int = 1024, seed: int | None = None, model: str = "final", device: str = "auto"
            ) -> dict[str, VAA]:
    """The exact VAA of the memories of a trained run (:func:`brc_rl.nn.vaa`).

    An RL run folder (``brc-rl train``): its model (``model``: final, latest or best) plays
    ``rollout_steps`` steps in each of the config's environments (seeded ``seed``, default
    the config's seed + 1000), and every memory of its policy is measured on the episodes'
    features. Anything else is read as supervised (``brc-rl supervised``): a run folder,
    a seed folder or a model file, measured on its seed's training sequences
    (:func:`brc_rl.supervised.warmup.checkpoint_vaa`).

    Returns:
        ``{"memory": VAA, "critic_memory": VAA}`` (RL) or ``{"seed<k>": VAA}`` (supervised).

    Raises:
        ValueError: if the path is neither (RunError, ConfigError are ValueErrors).
    """
    from brc_rl.experiments.run_dir import RunDir
    from brc_rl.experiments.schema import read_mapping

    run = RunDir(path)
    if not (run.is_run() and "algo" in read_mapping(run.config)):
        from brc_rl.supervised.warmup import checkpoint_vaa

        return checkpoint_vaa(path, samples, steps, eps, repeats, "cpu" if device == "auto" else device)
    from brc_rl.agents import policy_vaa
    from brc_rl.experiments.callbacks import vecnormalize_of
    from brc_rl.experiments.evaluation import find_model, load_agent, load_run_config
    from brc_rl.experiments.run import EVAL_SEED_OFFSET, make_env

    config = load_run_config(path)
    agent, model_path = load_agent(path, config, model, device)
    stats = vecnormalize_of(model_path if model != "best" else find_model(path, "final"))
    seed = config.seed + EVAL_SEED_OFFSET if seed is None else seed
    env = make_env(config.env, config.env.n_envs, seed, vecnormalize=stats, training=False)
    try:
        return policy_vaa(agent, rollout_steps, env, samples=samples, steps=steps, eps=eps, repeats=repeats)
    finally:
        env.close()


def vaa_table(results: Mapping[str, VAA]) -> str:
    """One line per memory (or seed): the overall VAA, then each layer's."""
    return "\n".join(f"{name}: VAA {v.overall:.4f} +- {v.std:.4f} ({v.repeats} x {v.samples} sequences, "
                     f"{v.steps} steps); "
                     + ", ".join(f"layer {k} {x:.4f}" for k, x in enumerate(v.layers)) for name, v in results.items())
