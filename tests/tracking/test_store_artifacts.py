"""Contract: artifacts live in a per-run folder; no name can escape it, and a refused name writes nothing."""

from __future__ import annotations

import json
import uuid
from functools import partial
from pathlib import Path

import fsspec
import pytest

import tracking
from tests.conftest import SQL_STORE_PARAMS
from tests.support.state import run_state
from tracking import ActiveRun, InvalidArtifactPath, TrackingClient

ESCAPING_NAMES = [
    "../outside.txt",
    "a/../../outside.txt",
    "a/b/../../../outside.txt",
    "..",
    "/etc/passwd",
    "/tmp/x.txt",
    "C:/Windows/x.txt",
    "C:x.txt",
    "a\\..\\..\\outside.txt",
    "..\\outside.txt",
    "dir\\file.txt",
    "file://tmp/x",
    "s3://bucket/x",
    "",
    "   ",
    ".",
    "a/\x00b",
]


@pytest.fixture
def run(client: TrackingClient) -> ActiveRun:
    return client.start_run("e", "with-artifacts")


def run_folder(run: ActiveRun) -> Path:
    return Path(run.artifact_uri)


def test_log_artifact_file_lands_in_the_runs_folder(run: ActiveRun, tmp_path: Path, artifact_root: Path) -> None:
    source = tmp_path / "confusion.png"
    source.write_bytes(b"\x89PNG fake")
    assert run.log_artifact(source) == "confusion.png"
    assert run.log_artifact(source, "plots/cm.png") == "plots/cm.png"
    folder = run_folder(run)
    assert folder.is_relative_to(artifact_root)
    assert (folder / "confusion.png").read_bytes() == b"\x89PNG fake"
    assert (folder / "plots" / "cm.png").read_bytes() == b"\x89PNG fake"


def test_log_artifact_directory_copies_the_tree(run: ActiveRun, tmp_path: Path) -> None:
    source = tmp_path / "model"
    (source / "sub").mkdir(parents=True)
    (source / "weights.bin").write_bytes(b"w")
    (source / "sub" / "config.json").write_text("{}")
    assert run.log_artifact(source) == "model"
    assert run.log_artifact(source, "copies/m2") == "copies/m2"
    folder = run_folder(run)
    for base in ("model", "copies/m2"):
        assert (folder / base / "weights.bin").read_bytes() == b"w"
        assert (folder / base / "sub" / "config.json").read_text() == "{}"


def test_log_dict_and_text(run: ActiveRun) -> None:
    report = {"accuracy": 0.93, "classes": ["a", "b"], "nested": {"k": 1}}
    assert run.log_dict(report, "reports/report.json") == "reports/report.json"
    run.log_text("hello\n", "notes.txt")
    folder = run_folder(run)
    assert json.loads((folder / "reports" / "report.json").read_text()) == report
    assert (folder / "notes.txt").read_text() == "hello\n"


def test_list_artifacts(run: ActiveRun, client: TrackingClient) -> None:
    assert run.list_artifacts() == []
    run.log_dict({"a": 1}, "a.json")
    run.log_text("x" * 10, "dir/b.txt")
    run.log_text("y", "dir/deeper/c.txt")
    top = run.list_artifacts()
    assert [(a.path, a.is_dir) for a in top] == [("a.json", False), ("dir", True)]
    inner = client.list_artifacts(run.run_id, "dir")
    assert [(a.path, a.is_dir) for a in inner] == [("dir/b.txt", False), ("dir/deeper", True)]
    assert next(a for a in inner if a.path == "dir/b.txt").size == 10
    assert client.list_artifacts(run.run_id, "missing") == []


def test_download_artifacts(run: ActiveRun, client: TrackingClient, tmp_path: Path) -> None:
    run.log_dict({"a": 1}, "a.json")
    run.log_text("b", "dir/b.txt")
    run.log_text("c", "dir/deeper/c.txt")
    one = client.download_artifacts(run.run_id, "a.json", tmp_path / "one")
    assert one == tmp_path / "one" / "a.json" and json.loads(one.read_text()) == {"a": 1}
    folder = client.download_artifacts(run.run_id, "dir", tmp_path / "folder")
    assert (folder / "b.txt").read_text() == "b" and (folder / "deeper" / "c.txt").read_text() == "c"
    everything = client.download_artifacts(run.run_id, None, tmp_path / "all")
    got = sorted(p.relative_to(everything).as_posix() for p in everything.rglob("*") if p.is_file())
    assert got == ["a.json", "dir/b.txt", "dir/deeper/c.txt"]
    with pytest.raises(FileNotFoundError):
        client.download_artifacts(run.run_id, "nope.txt", tmp_path / "x")


def test_artifacts_of_two_runs_are_apart(client: TrackingClient) -> None:
    a, b = client.start_run("e"), client.start_run("e")
    a.log_text("from a", "same.txt")
    b.log_text("from b", "same.txt")
    assert (run_folder(a) / "same.txt").read_text() == "from a"
    assert (run_folder(b) / "same.txt").read_text() == "from b"


def test_names_that_would_escape_are_refused_and_nothing_is_written(
    run: ActiveRun, client: TrackingClient, tmp_path: Path, artifact_root: Path
) -> None:
    source = tmp_path / "src" / "payload.txt"
    source.parent.mkdir()
    source.write_text("payload")
    run.log_text("keep", "kept.txt")
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    for name in ESCAPING_NAMES:
        before = run_state(client, run.run_id, artifact_root)
        calls = [partial(run.log_dict, {"x": 1}, name), partial(run.log_text, "x", name)]
        if name:  # log_artifact(path, "") keeps the source's own name
            calls += [partial(run.log_artifact, source, name), partial(run.log_artifact, source.parent, name)]
        for call in calls:
            with pytest.raises(InvalidArtifactPath):
                call()
        assert run_state(client, run.run_id, artifact_root) == before, name
    for name in ESCAPING_NAMES:
        if name.strip() in ("", "."):
            continue  # these name the run folder itself, which list and download accept
        with pytest.raises(InvalidArtifactPath):
            client.list_artifacts(run.run_id, name)
        with pytest.raises(InvalidArtifactPath):
            client.download_artifacts(run.run_id, name, tmp_path / "dl")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "dl") == outside_before
    assert not Path("/tmp/x.txt").exists() or Path("/tmp/x.txt").read_text() != "x"


def test_a_directory_with_an_unsafe_file_name_writes_nothing(
    run: ActiveRun, client: TrackingClient, tmp_path: Path, artifact_root: Path
) -> None:
    source = tmp_path / "tree"
    source.mkdir()
    (source / "a_first.txt").write_text("a")
    (source / "b\\..\\..\\escape.txt").write_text("b")  # a legal file name on POSIX
    before = run_state(client, run.run_id, artifact_root)
    with pytest.raises(InvalidArtifactPath):
        run.log_artifact(source)
    assert run_state(client, run.run_id, artifact_root) == before


def test_dotted_but_safe_names_are_normalised(run: ActiveRun) -> None:
    assert run.log_text("x", "a/./b.txt") == "a/b.txt"
    assert run.log_text("y", "..hidden") == "..hidden"
    assert run.log_text("z", "dir/") == "dir"
    assert (run_folder(run) / "a" / "b.txt").read_text() == "x"
    assert (run_folder(run) / "..hidden").read_text() == "y"


# The client's fsspec root: a server keeps its own artifact root, so this runs on the SQL stores.
@pytest.mark.parametrize("store_uri", SQL_STORE_PARAMS, indirect=True)
def test_an_fsspec_artifact_root_works_the_same(store_uri: str, tmp_path: Path) -> None:
    root = f"memory://sweeps-test-{uuid.uuid4().hex[:8]}"
    with tracking.connect(store_uri, artifacts=root) as client:
        run = client.start_run("e")
        assert run.artifact_uri.startswith(f"{root}/") and run.artifact_uri.endswith(f"/{run.run_id}/artifacts")
        run.log_dict({"a": 1}, "d/a.json")
        source = tmp_path / "f.txt"
        source.write_text("file")
        run.log_artifact(source)
        with pytest.raises(InvalidArtifactPath):
            run.log_text("x", "../../escape.txt")
        assert [(a.path, a.is_dir) for a in run.list_artifacts()] == [("d", True), ("f.txt", False)]
        out = client.download_artifacts(run.run_id, None, tmp_path / "dl")
        assert json.loads((out / "d" / "a.json").read_text()) == {"a": 1}
        assert (out / "f.txt").read_text() == "file"
    fs = fsspec.filesystem("memory")
    assert not [p for p in fs.find(root.removeprefix("memory://")) if "escape" in p]


def test_symbolic_links_out_of_a_logged_folder_are_refused_and_nothing_is_written(
    run: ActiveRun, client: TrackingClient, tmp_path: Path, artifact_root: Path
) -> None:
    secret = tmp_path / "etc" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0")
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "model.txt").write_text("weights")
    (outputs / "passwd").symlink_to(secret)
    direct = tmp_path / "shadow"
    direct.symlink_to(secret)
    before = run_state(client, run.run_id, artifact_root)
    for source in (outputs, direct):
        with pytest.raises(InvalidArtifactPath, match="symbolic link"):
            run.log_artifact(source)
    assert run_state(client, run.run_id, artifact_root) == before
    assert not [p for p in artifact_root.rglob("*") if p.is_file() and p.read_bytes() == secret.read_bytes()]


def test_a_link_planted_in_a_runs_folder_is_not_read_through(
    run: ActiveRun, client: TrackingClient, tmp_path: Path
) -> None:
    secret = tmp_path / "etc" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0")
    run.log_text("fine", "d/ok.txt")
    (run_folder(run) / "d" / "passwd").symlink_to(secret)
    with pytest.raises(InvalidArtifactPath, match="outside"):
        client.download_artifacts(run.run_id, None, tmp_path / "dl")
    with pytest.raises(InvalidArtifactPath, match="outside"):
        client.artifacts(run.run_id).read_bytes("d/passwd")
    assert not [p for p in (tmp_path / "dl").rglob("*") if p.is_file() and p.read_text() == "root:x:0:0"]


def test_a_name_too_long_for_a_file_system_is_refused_clearly(
    run: ActiveRun, client: TrackingClient, tmp_path: Path, artifact_root: Path
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    before = run_state(client, run.run_id, artifact_root)
    for name in ("a" * 5000, "d/" + "b" * 300):
        for call in (partial(run.log_text, "x", name), partial(run.log_artifact, source, name)):
            with pytest.raises(tracking.InvalidParameter, match="longer than 255 bytes"):
                call()
    assert run_state(client, run.run_id, artifact_root) == before
