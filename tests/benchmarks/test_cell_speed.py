"""The speed benchmark's report and command (structure, not timings)."""

import argparse
import json

from benchmarks import cell_speed as bench


def test_report_has_medians_ratios_and_length_scaling(monkeypatch):
    monkeypatch.setitem(bench.LENGTH_CHECK, "lengths", (5, 10))
    report = bench.run(repeats=2, threads=1, cells=("gru", "nbrc"), shapes=[(6, 2, 3, 4, 1)])
    (shape,) = report["shapes"]
    assert len(shape["seconds"]["nbrc"]) == 2 and shape["ratio_to_gru"]["gru"] == 1.0
    assert shape["ratio_to_gru"]["nbrc"] == shape["median"]["nbrc"] / shape["median"]["gru"]
    assert set(report["length_scaling"]["ratio"]) == {"gru", "nbrc"}
    table = bench.format_table(report)
    assert "| 6, 2, 3, 4, 1 |" in table and "time(L=10) / time(L=5)" in table


def test_script_writes_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "TARGETS", {(6, 2, 3, 4, 1): {"brc": 0.5}})
    monkeypatch.setitem(bench.LENGTH_CHECK, "lengths", (5, 10))
    path = tmp_path / "speed.json"
    args = argparse.ArgumentParser()
    bench.add_arguments(args)
    assert bench.main(args.parse_args(["--repeats", "1", "--cells", "gru", "brc", "--json", str(path)])) == 0
    assert "brc/GRU (target)" in capsys.readouterr().out
    assert json.loads(path.read_text())["shapes"][0]["target"] == {"brc": 0.5}
