"""A whole sweep through a real server process: `sweeps run --store http://…`, then the read
commands on the same URI; artifacts and the registered model land in the server's root."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import tracking
from sweeps.cli.main import main
from sweeps.engine.result import SweepResult
from tests.support.server import ServerProcess
from tests.sweeps import objectives
from tests.sweeps.engine_checks import check_store


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_sweep_runs_through_the_server_and_every_read_command_takes_its_uri(
    http_uri: str,
    http_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    client_root = tmp_path / "client-artifacts"  # the config's root: a server ignores it
    config = tmp_path / "sweep.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            name: over-http
            experiment: served
            objective: {objectives.ref("with_artifacts")}
            metric: {{name: loss, goal: minimize}}
            parameters:
              x: {{type: float, low: 0.0, high: 4.0}}
            sampler: {{name: tpe, seed: 3}}
            budget: {{trials: 4}}
            execution: {{backend: local, concurrency: 2}}
            artifacts: {client_root}
            register: {{model: served-model, alias: challenger}}
            """
        )
    )
    code, out, err = cli(capsys, "run", str(config), "--store", http_uri)
    assert code == 0, out + err

    with tracking.connect(http_uri) as client:
        parent = client.runs_with_tag("sweeps.kind", "sweep")[0]
        sweep_id = parent.tags["sweeps.sweep_id"]
        result = SweepResult(sweep_id, parent.run_id, parent.status.value, None, 4, 4, 0, 0)
        children = check_store(client, result, metric="loss")
        for child in children:  # artifacts shipped to the driver, stored by the server in its root
            assert Path(child.artifact_uri).is_relative_to(http_server.artifact_root)
            assert client.artifacts(child.run_id).read_bytes("info/params.json")
        version = client.registry.get_version_by_alias("served-model", "challenger")
        assert version.run_id in {c.run_id for c in children}
        assert tracking.load_model(version.uri, client).predict([[1.0, 2.0]]) is not None
    assert not client_root.exists()

    code, out, _ = cli(capsys, "list", "--store", http_uri)
    assert code == 0 and sweep_id in out
    code, out, _ = cli(capsys, "show", sweep_id, "--store", http_uri)
    assert code == 0 and "trial" in out
    code, out, _ = cli(capsys, "report", sweep_id, "--store", http_uri, "-o", str(tmp_path / "r.html"))
    assert code == 0 and (tmp_path / "r.html").stat().st_size > 1000
    code, out, _ = cli(
        capsys, "runs", "--store", http_uri, "--filter", "tags.`sweeps.kind` = 'trial'", "--format", "csv"
    )
    assert code == 0 and len(out.strip().splitlines()) == 5  # header + 4 trials
    trial_ids = [c.run_id for c in children][:2]
    code, out, _ = cli(capsys, "compare", *trial_ids, "--store", http_uri)
    assert code == 0, out
    code, out, _ = cli(capsys, "models", "list", "--store", http_uri)
    assert code == 0 and "served-model" in out
    code, out, _ = cli(capsys, "models", "show", "served-model", "--store", http_uri)
    assert code == 0 and "challenger" in out
