"""``sweeps models``: output and exit codes (0 promoted, 3 champion kept, 1 error, 2 bad usage)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

import tracking
from sweeps.cli.main import main
from tracking import TrackingClient


@pytest.fixture(scope="module")
def tree() -> DecisionTreeClassifier:
    x, y = load_iris(return_X_y=True)
    return DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, y)


@pytest.fixture
def store(store_uri: str, artifact_root: Path, tree: DecisionTreeClassifier) -> Iterator[str]:
    """A store holding model ``iris`` v1 (accuracy 0.90, @champion) and v2 (0.95, @challenger)."""
    with tracking.connect(store_uri, artifacts=str(artifact_root)) as client:
        add_version(client, tree, 0.90)
        add_version(client, tree, 0.95)
        client.registry.set_alias("iris", "champion", 1)
        client.registry.set_alias("iris", "challenger", 2)
    yield store_uri


def add_version(client: TrackingClient, model: object, accuracy: float) -> int:
    with client.start_run("cli") as run:
        run.log_model(model)
        run.log_metric("objective.accuracy", accuracy)
    return client.registry.register_model("iris", run.run_id).version


def sweeps(*args: str) -> int:
    return main(["models", *args])


def test_promote_exits_0_when_promoted_then_3_when_kept(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert sweeps("promote", "iris", "--metric", "accuracy", "--goal", "maximize", "--store", store) == 0
    out = capsys.readouterr().out
    assert "promoted: iris@champion is now v2 (was v1)" in out
    assert "challenger v2 = 0.95" in out and "champion v1 = 0.9" in out

    # v2 is champion and challenger now: nothing to promote.
    assert sweeps("promote", "iris", "--metric", "accuracy", "--goal", "maximize", "--store", store) == 3
    assert "kept: iris@champion stays v2" in capsys.readouterr().out


def test_promote_exits_3_within_min_delta(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = sweeps(
        "promote", "iris", "--metric", "accuracy", "--goal", "maximize", "--min-delta", "0.1", "--store", store
    )
    assert code == 3
    assert "less than min_delta 0.1" in capsys.readouterr().out


def test_promote_uses_store_from_environment(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWEEPS_STORE", store)
    assert sweeps("promote", "iris", "--metric", "accuracy", "--goal", "minimize") == 3
    assert "does not beat" in capsys.readouterr().out


def test_unknown_model_exits_1(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert sweeps("promote", "ghost", "--metric", "accuracy", "--goal", "maximize", "--store", store) == 1
    assert "no registered model named 'ghost'" in capsys.readouterr().err
    assert sweeps("show", "ghost", "--store", store) == 1
    assert sweeps("alias", "ghost", "champion", "1", "--store", store) == 1
    assert sweeps("stage", "iris", "9", "Production", "--store", store) == 1
    assert "has no version 9" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["promote", "iris", "--goal", "maximize"],  # no --metric
        ["promote", "iris", "--metric", "accuracy", "--goal", "upward"],
        ["promote", "iris", "--metric", "accuracy", "--goal", "maximize", "--min-delta", "-1"],
        ["alias", "iris", "latest", "1"],  # reserved alias
        ["alias", "iris", "v2", "1"],
        ["alias", "iris", "bad alias", "1"],
        ["alias", "iris", "champion", "zero"],
        ["stage", "iris", "1", "Live"],
        ["nope"],
    ],
)
def test_bad_usage_exits_2(store: str, args: list[str]) -> None:
    assert sweeps(*args, "--store", store) == 2


def test_alias_stage_and_show(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert sweeps("alias", "iris", "champion", "2", "--reason", "better on holdout", "--store", store) == 0
    assert "iris@champion -> v2 (moved from v1)" in capsys.readouterr().out
    assert sweeps("stage", "iris", "1", "production", "--store", store) == 0
    assert sweeps("stage", "iris", "2", "Production", "--archive-existing", "--store", store) == 0
    assert "archived: v1" in capsys.readouterr().out

    assert sweeps("show", "iris", "--store", store) == 0
    out = capsys.readouterr().out
    versions, audit = out.split("audit log:")
    v1 = next(line for line in versions.splitlines() if line.startswith("v1 "))
    v2 = next(line for line in versions.splitlines() if line.startswith("v2 "))
    assert "Archived" in v1 and "runs:/" in v1
    assert "Production" in v2 and "@challenger @champion" in v2
    assert "better on holdout" in audit and "alias champion" in audit
    assert "Production" in audit and "Archived" in audit


def test_list(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert sweeps("list", "--store", store) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("iris"))
    assert "@challenger=v2" in row and "@champion=v1" in row


def test_empty_store(sqlite_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    tracking.connect(sqlite_uri).close()  # a store with nothing in it (a missing one is "no store at")
    assert sweeps("list", "--store", sqlite_uri) == 0
    assert "no registered models" in capsys.readouterr().out


def test_password_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "hunter2-not-printed"
    code = sweeps("list", "--store", f"postgresql+psycopg://someone:{secret}@127.0.0.1:1/nowhere")
    captured = capsys.readouterr()
    assert code == 1
    assert secret not in captured.out + captured.err
    assert "cannot open the store" in captured.err
