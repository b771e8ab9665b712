"""Lineage and governance from the command line, after a real sweep run from a git work tree.

``sweeps models show --version`` / ``history`` / ``protect`` / ``unprotect`` / ``evidence`` /
``verify``, with the environment the sweep captured at its start (issue 15, SPEC §10).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from importlib.metadata import distributions
from pathlib import Path

import pytest
import yaml

import sweeps
import tracking
from sweeps.cli.main import main
from tests.sweeps import objectives

OBJECTIVE = """from tests.sweeps.objectives import with_artifacts as train  # noqa: F401
"""


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.email=t@x", "-c", "user.name=t", *args], check=True, capture_output=True
    )


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A 3-trial local sweep whose config sits in a git repo with a changed tracked file and an untracked objective."""
    repo = tmp_path_factory.mktemp("repo")
    assert objectives.with_artifacts  # the objective file imports it from there
    config = {
        "name": "lin",
        "experiment": "lineage",
        "objective": "train_obj.py:train",
        "metric": {"name": "x", "goal": "maximize"},
        "parameters": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "sampler": {"name": "tpe", "seed": 3},
        "budget": {"trials": 3},
        "execution": {"backend": "local"},
        "artifacts": str(repo / "artifacts"),
        "register": {"model": "lin", "alias": "challenger"},
        "tags": {"data.train": "digits-v3"},
    }
    (repo / "sweep.yaml").write_text(yaml.safe_dump(config))
    (repo / "notes.txt").write_text("one\n")
    git(repo, "init", "-q")
    git(repo, "add", "sweep.yaml", "notes.txt")
    git(repo, "commit", "-q", "-m", "start")
    (repo / "notes.txt").write_text("two\n")  # a change to a tracked file: dirty
    (repo / "train_obj.py").write_text(OBJECTIVE)  # never added: untracked
    store = f"sqlite:///{repo / 'store.db'}"
    result = sweeps.run(str(repo / "sweep.yaml"), store=store, no_report=True)
    assert result.registered is not None, result.notes
    return store, repo


def cli(*args: str) -> int:
    return main(["models", *args])


def test_environment_json_lists_every_installed_package_and_the_git_state(swept: tuple[str, Path]) -> None:
    store, repo = swept
    with tracking.connect(store) as client:
        version = client.registry.get_model_version("lin", 1)
        parent = client.get_run(client.get_run(version.run_id).parent_run_id)  # type: ignore[arg-type]
        env = json.loads(client.artifacts(parent.run_id).read_bytes("environment.json"))
    installed = {d.metadata["Name"].lower().replace("_", "-").replace(".", "-") for d in distributions()}
    assert set(env["packages"]) == installed and env["package_count"] == len(installed) > 50
    assert (
        env["git_commit"]
        == subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    assert env["git_dirty"] is True and env["objective_untracked"] is True
    assert len(env["git_diff_sha256"]) == 64


def test_show_version_prints_the_lineage_as_text_and_json(
    swept: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = swept
    assert cli("show", "lin", "--version", "1", "--store", store) == 0
    text = capsys.readouterr().out
    assert "models:/lin/1" in text and "payload sha256" in text
    assert "rank 1 of 3 finished by x (maximize); 3 trials in the sweep" in text
    assert "dirty yes" in text and "objective untracked yes" in text and "data.train = digits-v3" in text

    assert cli("show", "lin", "--version", "1", "--format", "json", "--store", store) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["sweep"]["rank"] == 1 and found["sweep"]["size"] == 3 and found["sweep"]["sampler"] == "tpe"
    assert found["code"]["dirty"] is True and found["environment"]["package_count"] > 50
    assert found["sha256"]["payload"] == found["sha256"]["registered"]
    assert [e["action"] for e in found["audit"]] == ["register", "alias"]


def test_show_unknown_model_or_version_fails_cleanly(
    swept: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = swept
    assert cli("show", "nope", "--version", "1", "--store", store) == 1
    assert "no registered model named 'nope'" in capsys.readouterr().err
    assert cli("show", "lin", "--version", "9", "--store", store) == 1
    assert "has no version 9" in capsys.readouterr().err


def test_protect_history_and_bad_times(
    tmp_path: Path, swept: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source, _ = swept
    # A copy of the store: this test changes the registry.
    store_file = tmp_path / "store.db"
    store_file.write_bytes(Path(source.removeprefix("sqlite:///")).read_bytes())
    store = f"sqlite:///{store_file}"
    assert cli("alias", "lin", "champion", "1", "--store", store) == 0
    assert cli("protect", "lin", "champion", "--reason", "serves traffic", "--store", store) == 0
    assert "lin@champion is protected" in capsys.readouterr().out
    assert cli("alias", "lin", "champion", "1", "--store", store) == 0  # pointing where it points moves nothing
    with tracking.connect(store) as client:
        before = client.registry.audit_log("lin")
    assert cli("alias", "lin", "x-y", "1", "--store", store) == 0  # other aliases move without a reason
    assert cli("unprotect", "lin", "champion", "--store", store) == 2  # --reason is required
    capsys.readouterr()

    with tracking.connect(store) as client:
        client.registry.register_model("lin", client.registry.get_model_version("lin", 1).run_id)
        created = client.registry.get_registered_model("lin").created_at
    assert cli("alias", "lin", "champion", "2", "--store", store) == 1
    assert "protected: moving it needs a reason" in capsys.readouterr().err
    with tracking.connect(store) as client:
        assert client.registry.get_registered_model("lin").aliases["champion"] == 1
        assert len(client.registry.audit_log("lin")) == len(before) + 2  # x-y and the registration only
    assert cli("alias", "lin", "champion", "2", "--reason", "v2 is better", "--user", "lead", "--store", store) == 0
    capsys.readouterr()

    assert cli("history", "lin", "--alias", "champion", "--store", store) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "v1" in lines[0] and "v2" in lines[1] and "v2 is better" in lines[1]
    with tracking.connect(store) as client:
        moves = [e for e in client.registry.audit_log("lin") if e.action == "alias" and e.subject == "champion"]

    def held(at_ms: int) -> list[int]:
        args = ("history", "lin", "--alias", "champion", "--at", _iso(at_ms), "--format", "json", "--store", store)
        assert cli(*args) == 0
        return [h["version"] for h in json.loads(capsys.readouterr().out)["holdings"]]

    assert held(created) == []  # before anyone set it
    assert held(moves[0].at) == [1]
    assert held(moves[1].at) == [2]

    for bad, message in (
        ("tomorrow", "bad time 'tomorrow'"),
        ((datetime.now(UTC) + timedelta(days=1)).isoformat(), "in the future"),
        ("2001-01-01T00:00:00Z", "before the model existed"),
    ):
        assert cli("history", "lin", "--at", bad, "--store", store) == 1
        assert message in capsys.readouterr().err

    assert cli("unprotect", "lin", "champion", "--reason", "retired", "--store", store) == 0
    assert cli("alias", "lin", "champion", "1", "--store", store) == 0


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def test_evidence_bundle_verifies_and_names_what_was_tampered(
    tmp_path: Path, swept: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = swept
    bundle = tmp_path / "ev.zip"
    assert cli("evidence", "lin", "--version", "1", "-o", str(bundle), "--store", store) == 0
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        lineage_doc = json.loads(z.read("lineage.json"))
        assert "<html" in z.read("report.html").decode().lower()
    assert names == {
        "lineage.json",
        "report.html",
        "config.yaml",
        "environment.json",
        "model.json",
        "audit_log.json",
        "manifest.json",
    }
    assert lineage_doc["model_uri"] == "models:/lin/1"
    assert cli("verify", str(bundle)) == 0
    assert "intact" in capsys.readouterr().out

    def rewrite(target: Path, change: dict[str, bytes | None], extra: dict[str, bytes] | None = None) -> None:
        with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(target, "w") as out:
            for name in src.namelist():
                data = change.get(name, src.read(name))
                if data is not None:
                    out.writestr(name, data)
            for name, data in (extra or {}).items():
                out.writestr(name, data)

    cases = {
        "changed": ({"config.yaml": b"name: forged\n"}, None, "config.yaml: changed"),
        "removed": ({"model.json": None}, None, "model.json: removed"),
        "added": ({}, {"extra.txt": b"hi"}, "extra.txt: added"),
    }
    for label, (change, extra, message) in cases.items():
        target = tmp_path / f"{label}.zip"
        rewrite(target, change, extra)
        assert cli("verify", str(target)) == 1, label
        assert message in capsys.readouterr().err

    escaping = tmp_path / "escape.zip"
    rewrite(escaping, {}, {"../../etc/evil": b"x"})
    assert cli("verify", str(escaping)) == 2
    assert "escapes the bundle's folder" in capsys.readouterr().err
    not_zip = tmp_path / "plain.zip"
    not_zip.write_text("not a zip")
    assert cli("verify", str(not_zip)) == 2
    assert "not an evidence bundle" in capsys.readouterr().err
    no_manifest = tmp_path / "bare.zip"
    with zipfile.ZipFile(no_manifest, "w") as z:
        z.writestr("a.txt", "a")
    assert cli("verify", str(no_manifest)) == 2
    assert "has no manifest.json" in capsys.readouterr().err


def test_webhook_commands_refuse_bad_urls_and_never_print_the_secret(
    tmp_path: Path, swept: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source, _ = swept
    store_file = tmp_path / "store.db"
    store_file.write_bytes(Path(source.removeprefix("sqlite:///")).read_bytes())
    store = f"sqlite:///{store_file}"
    secret = "very-secret-value"
    assert cli("webhook", "add", "lin", "ftp://example.com/x", "--secret", secret, "--store", store) == 1
    assert "must be an http:// or https:// URL" in capsys.readouterr().err
    assert (
        cli(
            "webhook",
            "add",
            "lin",
            "https://hooks.example.invalid/x",
            "--secret",
            secret,
            "--events",
            "alias,promote",
            "--store",
            store,
        )
        == 0
    )
    assert cli("webhook", "list", "lin", "--store", store) == 0
    out = capsys.readouterr().out
    assert "https://hooks.example.invalid/x" in out and "alias,promote" in out and secret not in out
    assert "delivered 0, pending 0, given up 0" in out
    assert cli("webhook", "redeliver", "lin", "1", "--store", store) == 0
    assert "has no given-up events" in capsys.readouterr().out
    assert cli("webhook", "remove", "lin", "1", "--store", store) == 0
    assert cli("webhook", "remove", "lin", "1", "--store", store) == 1
    assert "no webhook 1" in capsys.readouterr().err
    assert secret.encode() not in store_file.read_bytes()
