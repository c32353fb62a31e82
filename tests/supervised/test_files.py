"""replace_atomically: the old file or the new one, never half of one."""

import os

import pytest

from brc_rl.experiments.files import replace_atomically


def test_writes_through_a_temporary_file_named_by_the_process(tmp_path):
    path = tmp_path / "new" / "folder" / "results.json"
    seen = []

    def write(tmp):
        seen.append(tmp)
        assert not path.exists()  # the target is replaced only once the write is done
        tmp.write_text("new")

    replace_atomically(path, write)
    assert path.read_text() == "new"
    assert seen == [path.with_name(f"results.json.{os.getpid()}.part")]
    assert not seen[0].exists()


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_text("old")

    def half_written(tmp):
        tmp.write_text("ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(path, half_written)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
