"""S3 as the artifact root, for real: a moto S3 server on loopback, reached through the usual AWS
environment variables, by a client on a SQL store and by a `sweeps server` process."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression

import tracking
from tests.support import s3
from tests.support import server as http_support

s3fs = pytest.importorskip("s3fs")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3.S3Server]:
    with s3.running(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def bucket(s3_server: s3.S3Server, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    for key, value in s3_server.environment().items():
        monkeypatch.setenv(key, value)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    name = f"sweeps-{request.node.name.replace('_', '-')[:40].lower().strip('-')}"
    fs.mkdir(name)
    return name


def objects(bucket: str) -> dict[str, bytes]:
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    return {path.partition("/")[2]: fs.cat(path) for path in fs.find(bucket)}


def test_a_client_on_a_sql_store_keeps_artifacts_and_models_in_s3(bucket: str, tmp_path: Path) -> None:
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "a.txt").write_text("a")
    (tmp_path / "folder" / "sub" / "b.txt").write_text("b")
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    with tracking.connect(f"sqlite:///{tmp_path / 's.db'}", f"s3://{bucket}/root") as client:
        run = client.start_run("s3")
        run.log_text("hello", "notes/hello.txt")
        run.log_artifact(tmp_path / "folder", "inputs")  # a folder, recursively
        run.log_model(model)
        run.end()
        artifact_uri = run.info.artifact_uri
        assert artifact_uri.startswith(f"s3://{bucket}/root/")
        store = client.artifacts(run.run_id)
        assert store.read_bytes("notes/hello.txt") == b"hello"
        assert sorted(i.path for i in store.list("inputs")) == ["inputs/a.txt", "inputs/sub"]
        down = client.download_artifacts(run.run_id, "inputs", tmp_path / "down")
        assert (down / "sub" / "b.txt").read_text() == "b"
        loaded = tracking.load_model(f"runs:/{run.run_id}/model", client)
        assert loaded.predict([[2.0]]).tolist() == pytest.approx([4.0])
    stored = objects(bucket)
    prefix = artifact_uri.removeprefix(f"s3://{bucket}/")
    assert stored[f"{prefix}/notes/hello.txt"] == b"hello"
    assert stored[f"{prefix}/inputs/sub/b.txt"] == b"b"
    assert any(key.startswith(f"{prefix}/model/") for key in stored)


def test_a_server_with_an_s3_root_streams_artifacts_to_and_from_the_bucket(
    bucket: str, s3_server: s3.S3Server, tmp_path: Path
) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several chunks of the stream, not a round number
    (tmp_path / "big.bin").write_bytes(payload)
    store_uri = f"sqlite:///{tmp_path / 'server.db'}"
    root = f"s3://{bucket}/served"

    def args(port: int) -> list[str]:
        return [*http_support.sweeps_command(), "ui", "--store", store_uri, "--artifacts", root, "--port", str(port)]

    server = http_support.launch(args, store_uri, tmp_path / "unused", tmp_path, env=s3_server.environment())
    try:
        with tracking.connect(server.url) as client:
            run = client.start_run("through-the-server")
            run.log_artifact(tmp_path / "big.bin", "data/big.bin")
            run.end()
            artifact_uri = run.info.artifact_uri
            assert artifact_uri.startswith(f"{root}/")
            back = client.download_artifacts(run.run_id, "data/big.bin", tmp_path / "down")
        assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(payload).digest()
        prefix = artifact_uri.removeprefix(f"s3://{bucket}/")
        assert objects(bucket)[f"{prefix}/data/big.bin"] == payload
    finally:
        server.stop()
    assert "sweeps-test-secret" not in server.output()
