"""A full disk, for real (a tiny tmpfs): artifacts and reports say "no space left" and leave no
partial file; a SQLite store says so too, at once (not retried), and keeps what it held."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tracking
from reports.errors import ReportError
from reports.html import _write
from tests.support.tiny_fs import mounted
from tracking.artifacts import ArtifactStore


def files_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_an_artifact_too_big_for_the_disk_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    with mounted(tmp_path / "disk", 128) as disk:
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(200 * 1024))
        store = ArtifactStore(str(disk / "run"))
        with pytest.raises(tracking.StoreError, match="no space left on the device") as info:
            store.put_file(big, "data/big.bin")
        assert "big.bin" in str(info.value) and str(disk) in str(info.value)
        assert files_in(disk) == []  # no truncated file
        folder = tmp_path / "folder"
        folder.mkdir()
        (folder / "a.bin").write_bytes(os.urandom(60 * 1024))
        (folder / "b.bin").write_bytes(os.urandom(90 * 1024))  # the pair does not fit: neither stays
        with pytest.raises(tracking.StoreError, match="no space left"):
            store.put_file(folder, "folder")
        assert files_in(disk) == []
        store.put_bytes(b"small", "small.txt")  # what fits still goes in
        assert files_in(disk) == ["run/small.txt"]


def test_a_report_onto_a_full_disk_is_a_clear_error_and_no_partial_file(tmp_path: Path) -> None:
    with mounted(tmp_path / "disk", 64) as disk:
        with pytest.raises(ReportError, match=r"cannot write the report .*r\.html: no space left on the device"):
            _write(disk / "r.html", "x" * 200_000)
        assert files_in(disk) == []


def test_a_sqlite_store_on_a_full_disk_says_so_at_once_and_keeps_its_runs(tmp_path: Path) -> None:
    with mounted(tmp_path / "disk", 768) as disk:
        uri = f"sqlite:///{disk / 'store.db'}"
        client = tracking.connect(uri, artifacts=str(tmp_path / "artifacts"), batch_size=2_000)
        try:
            kept = client.start_run("full")
            kept.log_metric("loss", 1.0, step=0)
            kept.end()
            run = client.start_run("full")
            with pytest.raises(tracking.SinkError) as info:
                for step in range(1_000_000):
                    run.log_metrics({f"k{i}": float(step) for i in range(10)}, step=step)
                client.flush()
            cause = info.value.__cause__
            assert isinstance(cause, tracking.StoreError) and not isinstance(cause, tracking.StoreUnavailable)
            assert "no space left on the device holding the store" in str(cause)
            assert "Traceback" not in str(info.value)
        finally:
            client.close()
        with tracking.connect(uri) as reader:
            assert reader.get_run(kept.run_id).status is tracking.RunStatus.FINISHED
            assert [m.value for m in reader.get_metric_history(kept.run_id, "loss")] == [1.0]
