"""A sweep whose artifact disk fills up (a real tiny tmpfs): every trial ends FAILED saying "no space
left", none stays RUNNING, no truncated artifact is left, and the CLI says so (exit 1, no crash)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tracking
from sweeps.cli.main import main
from tests.support.tiny_fs import mounted
from tests.sweeps.engine_checks import sweep_config
from tracking import RunStatus


def test_a_full_artifact_disk_fails_the_trials_clearly_and_leaves_no_partial_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with mounted(tmp_path / "disk", 128) as disk:
        config = sweep_config("big_artifact", str(disk / "artifacts"), trials=3, backend="local")
        config["budget"] = {"trials": 3, "max_failures": 3}
        path = tmp_path / "sweep.yaml"
        path.write_text(yaml.safe_dump(config))
        store = f"sqlite:///{tmp_path / 'store.db'}"
        code = main(["run", str(path), "--store", store, "--no-report"])
        _, err = capsys.readouterr()
        # Exit 1 with the sweep's own verdict (the failing trial's traceback is shown, as for any
        # objective error), not a crash of the CLI.
        assert code == 1 and err.rstrip().endswith("FAILED")
        assert "no space left on the device" in err
        leftovers = [p for p in disk.rglob("*") if p.is_file() and p.name == "big.json"]
        assert leftovers == []
        with tracking.connect(store) as client:
            (parent,) = client.runs_with_tag("sweeps.kind", "sweep")
            children = client.child_runs(parent.run_id)
            assert parent.status is not RunStatus.RUNNING
            assert len(children) == 3 and {c.status for c in children} == {RunStatus.FAILED}
            assert all("no space left on the device" in (c.error or "") for c in children)
