"""The paper's published results (Vecoven et al. 2021, Tables 1-5): mean and standard
deviation over 3 seeds after 50 epochs, as (mean, std) per cell column."""

from __future__ import annotations

from typing import Any

PAPER_COLUMNS: tuple[str, ...] = ("BRC", "nBRC", "GORU", "LSTM", "GRU", "LMU")

# make_rnn name -> the paper's column.
CELL_COLUMNS: dict[str, str] = {"brc": "BRC", "nbrc": "nBRC", "gru": "GRU", "lstm": "LSTM"}


def _row(*pairs: tuple[float, float]) -> dict[str, tuple[float, float]]:
    if len(pairs) != len(PAPER_COLUMNS):
        raise ValueError(f"expected {len(PAPER_COLUMNS)} (mean, std) pairs, got {len(pairs)}")
    return dict(zip(PAPER_COLUMNS, pairs))


# benchmark -> title, the dataset parameter that keys the rows (None: one row), and
# rows: key -> metric -> column -> (mean, std).
PAPER_TABLES: dict[str, dict[str, Any]] = {
    "copy-first": {
        "title": "Table 1, copy first input, test MSE",
        "key": "seq_len", "key_label": "T",
        "rows": {
            5: {"mse": _row((0.005, 0.001), (0.000, 0.000), (0.000, 0.000), (0.000, 0.000),
                            (0.000, 0.000), (0.000, 0.000))},
            50: {"mse": _row((0.082, 0.027), (0.002, 0.000), (0.019, 0.009), (0.000, 0.000),
                             (0.997, 0.005), (0.000, 0.000))},
            300: {"mse": _row((0.086, 0.014), (0.010, 0.003), (0.308, 0.050), (1.002, 0.009),
                              (0.876, 0.190), (0.000, 0.000))},
            600: {"mse": _row((0.099, 0.029), (0.009, 0.002), (0.323, 0.068), (0.989, 0.008),
                              (0.999, 0.017), (0.002, 0.001))},
        },
    },
    "denoising": {
        "title": "Table 2, denoising, T = 400, test MSE",
        "key": "forget", "key_label": "N",
        "rows": {
            5: {"mse": _row((0.579, 0.033), (0.016, 0.003), (0.000, 0.000), (0.655, 0.463),
                            (0.001, 0.000), (1.004, 0.006))},
            200: {"mse": _row((0.614, 0.119), (0.071, 0.078), (1.004, 0.003), (0.996, 0.005),
                              (0.995, 0.003), (1.000, 0.003))},
        },
    },
    "psmnist": {
        "title": "Table 3, permuted sequential MNIST",
        "key": None, "key_label": None,
        "rows": {
            None: {
                "accuracy": _row((0.662, 0.007), (0.908, 0.006), (0.902, 0.004), (0.910, 0.002),
                                 (0.908, 0.004), (0.969, 0.001)),
                "macro_f1": _row((0.655, 0.007), (0.906, 0.005), (0.897, 0.008), (0.907, 0.003),
                                 (0.902, 0.006), (0.965, 0.002)),
            },
        },
    },
    "plmnist": {
        "title": "Table 4, permuted line-sequential MNIST",
        "key": "black_lines", "key_label": "N",
        "rows": {
            72: {
                "accuracy": _row((0.968, 0.001), (0.973, 0.001), (0.977, 0.000), (0.977, 0.002),
                                 (0.977, 0.002), (0.969, 0.001)),
                "macro_f1": _row((0.967, 0.001), (0.972, 0.001), (0.972, 0.000), (0.976, 0.002),
                                 (0.974, 0.001), (0.941, 0.002)),
            },
            472: {
                "accuracy": _row((0.960, 0.001), (0.972, 0.002), (0.198, 0.021), (0.562, 0.328),
                                 (0.591, 0.388), (0.961, 0.003)),
                "macro_f1": _row((0.956, 0.001), (0.972, 0.002), (0.083, 0.003), (0.454, 0.453),
                                 (0.495, 0.477), (0.898, 0.013)),
            },
        },
    },
    "pvlmnist": {
        "title": "Table 5, permuted variable-line-sequential MNIST",
        "key": "max_black_lines", "key_label": "N max",
        "rows": {
            472: {
                "accuracy": _row((0.958, 0.002), (0.970, 0.001), (0.148, 0.015), (0.630, 0.318),
                                 (0.540, 0.426), (0.180, 0.002)),
                "macro_f1": _row((0.954, 0.000), (0.967, 0.001), (0.022, 0.001), (0.491, 0.465),
                                 (0.451, 0.474), (0.062, 0.036)),
            },
        },
    },
}
