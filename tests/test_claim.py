"""One run per folder: a reused --out is refused, --replace empties only racecheck's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.errors import UsageError
from loadtests.run.claim import REPLACE_FLAG, RUN_FILE, claim, read_run_file


def test_a_new_folder_is_created_locked_and_named_by_its_run(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "run"
    owned = claim(folder)
    try:
        info = read_run_file(folder)
        assert info is not None and info["run_id"] == owned.run_id
        with pytest.raises(UsageError, match="another racecheck run is writing into"):
            claim(folder, replace=True)
    finally:
        owned.release()


def test_a_non_empty_folder_is_refused_and_the_message_names_the_option(tmp_path: Path) -> None:
    claim(tmp_path).release()
    with pytest.raises(UsageError, match=f"is not empty .*{REPLACE_FLAG}"):
        claim(tmp_path)


def test_replace_empties_a_previous_run_and_gives_a_new_id(tmp_path: Path) -> None:
    first = claim(tmp_path)
    first.release()
    (tmp_path / "locust").mkdir()
    (tmp_path / "locust" / "summary.json").write_text("{}")
    (tmp_path / "result.json").write_text("{}")
    second = claim(tmp_path, replace=True)
    second.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == [RUN_FILE]
    assert second.run_id != first.run_id


def test_replace_never_deletes_a_users_own_files(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>my page</h1>")
    with pytest.raises(UsageError, match="empties only a folder racecheck wrote"):
        claim(tmp_path, replace=True)
    assert (tmp_path / "index.html").read_text() == "<h1>my page</h1>"


def test_an_old_run_directory_with_only_result_json_may_be_replaced(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps({"schema": "racecheck/result/v1"}))
    claim(tmp_path, replace=True).release()
    assert not (tmp_path / "result.json").exists()


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        claim(tmp_path / "f")
