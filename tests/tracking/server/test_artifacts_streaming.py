"""Artifacts through a real server process: big files stream both ways with memory bounded on
both sides, folders round-trip, and the server keeps every name inside its run's folder."""

from __future__ import annotations

import hashlib
import os
import resource
from pathlib import Path

import httpx
import pytest

import tracking
from tests.support.server import ServerProcess
from tracking.wire import API

SIZE = 256 * 1024 * 1024
SLACK = 96 * 1024 * 1024  # far below SIZE: a side that held the file would pass it


def peak_rss(pid: int) -> int:
    """The process's high-water resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def write_big(path: Path) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as fh:
        for i in range(SIZE // len(block)):
            chunk = i.to_bytes(8, "little") + block[8:]
            digest.update(chunk)
            fh.write(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def test_a_big_artifact_streams_up_and_down_with_bounded_memory(
    http_uri: str, http_server: ServerProcess, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    expected = write_big(source)
    server_before = peak_rss(http_server.pid)
    client_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with tracking.connect(http_uri) as client:
        run = client.start_run("big")
        assert run.log_artifact(source, "data/big.bin") == "data/big.bin"
        stored = Path(run.info.artifact_uri) / "data" / "big.bin"  # the server's folder (same machine here)
        assert stored.stat().st_size == SIZE
        out = client.download_artifacts(run.run_id, "data/big.bin", tmp_path / "down")
    assert sha256_of(out) == expected == sha256_of(stored)
    server_growth = peak_rss(http_server.pid) - server_before
    client_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - client_before
    assert server_growth < SLACK, f"server peak RSS grew by {server_growth / 2**20:.0f} MiB"
    assert client_growth < SLACK, f"client peak RSS grew by {client_growth / 2**20:.0f} MiB"


def test_folders_round_trip_and_missing_artifacts_are_file_not_found(http_uri: str, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("b")
    with tracking.connect(http_uri) as client:
        run = client.start_run("folders")
        assert run.log_artifact(tree) == "tree"
        assert [(a.path, a.is_dir) for a in run.list_artifacts("tree")] == [("tree/a.txt", False), ("tree/sub", True)]
        everything = client.download_artifacts(run.run_id, None, tmp_path / "all")
        assert (everything / "tree" / "sub" / "b.txt").read_text() == "b"
        folder = client.download_artifacts(run.run_id, "tree/sub", tmp_path / "one")
        assert folder == tmp_path / "one" / "sub" and (folder / "b.txt").read_text() == "b"
        with pytest.raises(FileNotFoundError, match="no artifact"):
            client.artifacts(run.run_id).read_bytes("nothing.txt")
        with pytest.raises(FileNotFoundError):
            client.download_artifacts(run.run_id, "nothing", tmp_path / "none")


def test_the_server_refuses_names_that_escape_the_run_whatever_the_client_sends(
    http_uri: str, http_server: ServerProcess
) -> None:
    with tracking.connect(http_uri) as client:
        run = client.start_run("escape")
    before = sorted(http_server.artifact_root.parent.rglob("*"))
    for name in ("%2E%2E/%2E%2E/%2E%2E/outside.txt", "a/%2E%2E/%2E%2E/x", "%2Ftmp/abs.txt", "c:%5Cwin.txt", "x%00y"):
        response = httpx.put(f"{http_uri}{API}/runs/{run.run_id}/artifacts/{name}", content=b"evil")
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["code"] == "invalid_artifact_path"
    assert sorted(http_server.artifact_root.parent.rglob("*")) == before
