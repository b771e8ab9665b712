"""A sweep on Ray through a real `sweeps server` with authentication: the driver holds only a
token, the workers talk only to the driver, and the runs and the registry name the token's user."""

from __future__ import annotations

from pathlib import Path

import pytest

import sweeps
import tracking
from tests.support import server as http_support
from tests.sweeps.engine_checks import check_store, sweep_config
from tests.sweeps.outage_checks import sweep_through
from tracking.store.sql_store import SqlStore

pytestmark = pytest.mark.usefixtures("ray_session")


def test_a_ray_sweep_runs_through_an_authenticated_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_uri = f"sqlite:///{tmp_path / 'server.db'}"
    owner = SqlStore(store_uri)
    try:
        _, token = owner.auth_store().add_user("ci-bot")
    finally:
        owner.close()
    with http_support.running(store_uri, tmp_path / "server-artifacts", tmp_path, command="server") as server:
        config = sweep_config(
            "with_artifacts",
            str(tmp_path / "client-artifacts"),  # a server keeps artifacts in its own root
            trials=4,
            parameters={"x": {"type": "float", "low": 0.0, "high": 4.0}},
            register={"model": "bot-model", "alias": "challenger"},
        )
        monkeypatch.delenv("SWEEPS_TOKEN", raising=False)
        with pytest.raises(tracking.Unauthenticated):
            sweeps.run(config, store=server.url, no_report=True)
        monkeypatch.setenv("SWEEPS_TOKEN", token)
        result = sweeps.run(config, store=server.url, no_report=True)
        assert (result.status, result.n_finished) == ("FINISHED", 4)
        with tracking.connect(server.url) as client:
            children = check_store(client, result, metric="loss")
            assert {c.user for c in children} == {"ci-bot"}
            for child in children:
                assert Path(child.artifact_uri).is_relative_to(server.artifact_root)
            version = client.registry.get_version_by_alias("bot-model", "challenger")
            assert version.run_id in {c.run_id for c in children}
            assert {e.actor for e in client.registry.audit_log("bot-model")} == {"ci-bot"}
        assert token not in server.output()
    assert not (tmp_path / "client-artifacts").exists()


def test_a_sweep_survives_its_server_restarting(tmp_path: Path) -> None:
    store_uri = f"sqlite:///{tmp_path / 'server.db'}"
    server = http_support.start(store_uri, tmp_path / "server-artifacts", tmp_path)
    port = int(server.url.rpartition(":")[2])

    def restart() -> None:
        nonlocal server
        server.stop()  # SIGTERM: uvicorn finishes the requests in flight, then the port is closed
        server = http_support.start(store_uri, tmp_path / "server-artifacts", tmp_path, port=port)

    try:
        sweep_through(restart, server.url, tmp_path)
    finally:
        server.stop()
