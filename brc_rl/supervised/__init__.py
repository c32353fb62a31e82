"""The paper's supervised benchmarks (Vecoven et al. 2021, section 5), reproducible.

    from brc_rl.supervised import make_dataset, SupervisedConfig, run
    x, y = make_dataset("copy_first", 1000, seed=0, seq_len=50)   # (1000, 50, 1), (1000, 1)
    results = run(SupervisedConfig("copy-first", "nbrc", seq_len=50, epochs=5))

The command line is ``brc-rl supervised BENCHMARK --cell CELL`` and
``brc-rl supervised-table RESULTS.json ...``.
"""

from brc_rl.supervised.datasets import DATASETS, SequenceData, make_data, make_dataset
from brc_rl.supervised.metrics import accuracy, gate_statistics, macro_f1
from brc_rl.supervised.mnist import MnistUnavailableError, load_mnist
from brc_rl.supervised.model import SequenceModel
from brc_rl.supervised.protocol import BENCHMARKS, SupervisedConfig
from brc_rl.supervised.train import run, train_seed

__all__ = [
    "BENCHMARKS", "DATASETS", "MnistUnavailableError", "SequenceData", "SequenceModel",
    "SupervisedConfig", "accuracy", "gate_statistics", "load_mnist", "macro_f1", "make_data",
    "make_dataset", "run", "train_seed",
]
