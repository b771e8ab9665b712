"""Local artifact folders go through plain ``os`` calls that answer as fsspec's local filesystem does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

from tracking.artifacts import ArtifactStore, LocalFiles


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "run" / "artifacts"
    (root / "d" / "e").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "d" / "b.bin").write_bytes(b"\x00" * 10)
    (root / "d" / "e" / "c.json").write_text("{}")
    (root / "empty").mkdir()
    return root


def shape(entries: list[dict]) -> list[tuple[object, ...]]:
    # A folder's size is whatever the OS says; only files' sizes are compared.
    return sorted((e["name"], e["type"], e["size"] if e["type"] == "file" else None) for e in entries)


def test_local_files_answer_like_fsspec(tree: Path) -> None:
    ours, theirs = LocalFiles(), fsspec.filesystem("file")
    for path in (str(tree), str(tree / "d"), str(tree / "a.txt"), str(tree / "empty")):
        assert shape(ours.ls(path, detail=True)) == shape(theirs.ls(path, detail=True)), path
        assert ours.find(path) == theirs.find(path), path
        assert (ours.exists(path), ours.isdir(path)) == (theirs.exists(path), theirs.isdir(path)), path
    missing = str(tree / "nope")
    assert (ours.exists(missing), ours.isdir(missing), ours.find(missing)) == (False, False, theirs.find(missing))


@pytest.mark.parametrize("prefix", ["", "file://"])
def test_a_local_store_resolves_its_root_like_fsspec(tree: Path, prefix: str) -> None:
    store = ArtifactStore(f"{prefix}{tree}/")
    assert isinstance(store.fs, LocalFiles)
    assert store.root == fsspec.core.url_to_fs(f"{prefix}{tree}")[1]
    assert store.local_path("d/b.bin") == tree / "d" / "b.bin"


def test_local_artifacts_do_not_import_fsspec(tmp_path: Path) -> None:
    # A trial worker writes artifacts to a local folder; fsspec's import would add to its start.
    code = f"""
import json, sys
from tracking.artifacts import ArtifactStore
store = ArtifactStore({str(tmp_path / "run")!r})
store.put_json({{"a": 1}}, "d/a.json")
listed = [(a.path, a.is_dir) for a in store.list()] + [(a.path, a.is_dir) for a in store.list("d")]
store.download(None, {str(tmp_path / "dl")!r})
print(json.dumps({{"listed": listed, "fsspec": "fsspec" in sys.modules}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    out = json.loads(done.stdout)
    assert out == {"listed": [["d", True], ["d/a.json", False]], "fsspec": False}
    assert json.loads((tmp_path / "dl" / "d" / "a.json").read_text()) == {"a": 1}
