"""Test metrics (accuracy, macro F1, confusion matrix), in plain torch."""

from __future__ import annotations

import torch
from torch import Tensor


def accuracy(pred: Tensor, target: Tensor) -> float:
    """Share of ``pred == target`` (both (n,) class indices)."""
    _same_shape(pred, target)
    return float((pred == target).float().mean())


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """``m[i, j]`` = number of samples of class i predicted as j; (K, K) int64."""
    _same_shape(pred, target)
    flat = target.long() * num_classes + pred.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def macro_f1(pred: Tensor, target: Tensor, num_classes: int) -> float:
    """Macro-averaged F1: the mean over classes of F1_k = 2 TP_k / (2 TP_k + FP_k + FN_k).

    Classes that appear neither in ``target`` nor in ``pred`` are left out of the mean
    (as scikit-learn's ``f1_score(average="macro")`` does); a class that appears in one
    of them but is never hit counts with F1 = 0.

    Args:
        pred: (n,) predicted classes.
        target: (n,) true classes in 0..num_classes-1.
        num_classes: K.
    """
    m = confusion_matrix(pred, target, num_classes).double()
    tp = m.diagonal()
    denominator = m.sum(0) + m.sum(1)  # (TP + FP) + (TP + FN)
    present = denominator > 0
    if not present.any():
        raise ValueError("macro_f1 of an empty set of samples")
    return float((2 * tp[present] / denominator[present]).mean())


def _same_shape(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape or pred.dim() != 1:
        raise ValueError(
            f"expected pred and target of the same shape (n,), got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )
