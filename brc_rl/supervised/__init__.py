"""The paper's supervised benchmarks (Vecoven et al. 2021, section 5), reproducible.

    from brc_rl.supervised import make_dataset, SupervisedConfig, run
    x, y = make_dataset("copy_first", 1000, seed=0, seq_len=50)   # (1000, 50, 1), (1000, 1)
    results = run(SupervisedConfig(benchmark="copy-first", cell="nbrc", seq_len=50, epochs=5))

The command line is ``brc-rl supervised BENCHMARK --cell CELL`` and
``brc-rl supervised-table RESULTS.json ...``.
"""

import importlib
from typing import Any

_EXPORTS = {
    "DATASETS": "datasets", "SequenceData": "datasets", "make_data": "datasets", "make_dataset": "datasets",
    "accuracy": "metrics", "macro_f1": "metrics",
    "MnistUnavailableError": "mnist", "load_mnist": "mnist",
    "SequenceModel": "model",
    "BENCHMARKS": "protocol", "SupervisedConfig": "protocol",
    "run": "train", "train_seed": "train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import on first use: the command line reads the protocol without importing torch."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"brc_rl.supervised.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'brc_rl.supervised' has no attribute {name!r}")
