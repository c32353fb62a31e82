"""Writing files that a crash or a concurrent reader never sees half-written."""

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
