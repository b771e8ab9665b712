"""A worker on another node keeps its artifacts' bytes for the coordinator, under the same checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.engine.shipping import ShippingStore
from tracking.errors import InvalidArtifactPath


def test_a_logged_folder_is_shipped_and_not_written_on_the_workers_disk(tmp_path: Path) -> None:
    store = ShippingStore(str(tmp_path / "head" / "run" / "artifacts"))
    source = tmp_path / "outputs"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("b")
    assert store.put_file(source) == "outputs"
    assert store.put_file(source / "a.txt", "single.txt") == "single.txt"
    assert store.files == {"outputs/a.txt": b"a", "outputs/sub/b.txt": b"b", "single.txt": b"a"}
    assert not (tmp_path / "head").exists()


def test_a_shipped_folder_follows_no_link_out_of_it(tmp_path: Path) -> None:
    store = ShippingStore(str(tmp_path / "head" / "run" / "artifacts"))
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0")
    source = tmp_path / "outputs"
    source.mkdir()
    (source / "passwd").symlink_to(secret)
    (tmp_path / "shadow").symlink_to(secret)
    for logged in (source, tmp_path / "shadow"):
        with pytest.raises(InvalidArtifactPath, match="symbolic link"):
            store.put_file(logged)
    assert store.files == {}
