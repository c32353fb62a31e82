"""A one-seed run shows no spread in the table (it used to print a misleading +-0.000)."""

from brc_rl.supervised.table import render_tables


def one_run(cell, mean, seeds):
    return {
        "benchmark": "copy-first", "cell": cell, "metrics": ["mse"],
        "summary": {"mse": {"mean": mean, "std": 0.0 if len(seeds) == 1 else 0.02,
                            "n": len(seeds)}},
        "protocol": {"benchmark": "copy-first", "dataset_params": {"seq_len": 300}, "epochs": 8, "train_size": 8000,
                     "test_size": 5000, "batch_size": 100, "lr": 1e-3, "num_layers": 2,
                     "hidden_size": 128, "seeds": list(seeds), "reduced": True,
                     "reduced_reasons": ["epochs=8 (paper 50)"]},
    }


def test_single_seed_cells_have_no_std_and_several_seeds_do():
    lines = render_tables([one_run("nbrc", 0.4093, [0]), one_run("gru", 1.0251, [0]),
                           one_run("brc", 0.5, [0, 1])]).splitlines()
    assert "| 300 | measured, reduced [1] |  | 0.409 (1 seed) |  |  | 1.025 (1 seed) |  |" in lines
    assert "| 300 | measured, reduced [2] | 0.500+-0.020 |  |  |  |  |  |" in lines


def test_small_measured_values_keep_two_significant_digits():
    lines = render_tables([one_run("nbrc", 0.0000712, [0]), one_run("brc", 0.00082, [0, 1]),
                           one_run("gru", 0.0, [0])]).splitlines()
    assert "| 300 | measured, reduced [1] |  | 7.1e-05 (1 seed) |  |  | 0.000 (1 seed) |  |" in lines
    assert "| 300 | measured, reduced [2] | 8.2e-04+-2.0e-02 |  |  |  |  |  |" in lines
