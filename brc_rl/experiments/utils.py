"""Small helpers of the experiment layer: atomic writes, JSON, the torch device."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` next to ``path``, then rename it over ``path``.

    A crash or a concurrent reader sees the old file or the new one, never half of one.
    The temporary name carries the process id, so two processes writing at once do not
    share it; if ``write`` raises, the temporary file is removed and ``path`` is left as
    it was. The parent folder is created if missing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented JSON through :func:`replace_atomically`.

    A reader (another invocation merging its seeds) sees the old file or the new one.
    """
    replace_atomically(Path(path), lambda tmp: tmp.write_text(json.dumps(payload, indent=2) + "\n"))


def get_device(name: str = "auto") -> Any:
    """The torch device ``name`` asks for, through stable-baselines3's ``get_device``.

    ``"auto"`` is CUDA when present, else the CPU. Unlike SB3, which falls back to the
    CPU without a word, an explicit CUDA device on a machine without CUDA is an error.

    Raises:
        ValueError: for a name torch does not read as a device, or CUDA asked without CUDA.
    """
    import torch
    from stable_baselines3.common.utils import get_device as sb3_get_device

    try:
        requested = torch.device(name) if name != "auto" else None
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device {name!r} is not a torch device (expected auto, cpu, cuda, cuda:1, ...): {error}"
        ) from None
    if requested is not None and requested.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked, but this machine has no CUDA device (use auto or cpu)")
    return sb3_get_device(name)
