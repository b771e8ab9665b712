"""The follower in-process, one poll at a time: stages and aliases followed, bad versions kept out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tracking
from tests.tracking.serving.support import iris_tree, register, rows, tamper
from tracking import TrackingClient
from tracking.models import load_model
from tracking.serving import ModelFollower
from tracking.serving import _follower as follower_module


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TrackingClient]:
    with tracking.connect(f"sqlite:///{tmp_path / 'store.db'}", artifacts=str(tmp_path / "a")) as c:
        for depth in (1, 2, 3):
            register(c, "iris", iris_tree(depth), rows(5))
        yield c


def test_a_stage_is_followed_like_an_alias(client: TrackingClient) -> None:
    client.registry.transition_stage("iris", 1, "Production")
    follower = ModelFollower("models:/iris/Production", client)
    assert follower.load().version == 1 and follower.follows
    assert follower.refresh() is False  # nothing moved
    client.registry.transition_stage("iris", 2, "Production", archive_existing=True)
    assert follower.refresh() is True and follower.current.version == 2
    assert follower.status()["stage"] == "Production" and follower.status()["last_error"] is None


def test_fixed_versions_are_not_followed(client: TrackingClient) -> None:
    follower = ModelFollower("models:/iris/2", client)
    assert follower.load().version == 2 and not follower.follows
    assert follower.status()["poll_interval_s"] is None


def test_a_tampered_version_stays_out_and_a_deleted_alias_keeps_the_old_one(client: TrackingClient) -> None:
    client.registry.set_alias("iris", "champion", 1)
    tamper(client, "iris", 3)
    follower = ModelFollower("models:/iris@champion", client)
    before = follower.load()

    client.registry.set_alias("iris", "champion", 3)
    assert follower.refresh() is False and follower.current is before
    error = follower.status()["last_error"]
    assert isinstance(error, dict) and error["version"] == 3 and "ModelIntegrityError" in error["error"]
    assert follower.refresh() is False  # not retried at every poll

    client.registry.delete_alias("iris", "champion")
    assert follower.refresh() is False and follower.current is before
    error = follower.status()["last_error"]
    assert isinstance(error, dict) and error["version"] is None and "cannot look up" in error["error"]

    client.registry.set_alias("iris", "champion", 2)
    assert follower.refresh() is True and follower.current.version == 2
    assert follower.status()["last_error"] is None


def test_a_version_whose_warm_up_fails_is_not_swapped_in(
    client: TrackingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def predict(self, x: object) -> object:
            raise RuntimeError("cannot score its own example")

    def load_breaking_v2(uri: str, source: object) -> object:
        model = load_model(uri, source)  # type: ignore[arg-type]
        if uri.endswith("/2"):
            model.raw = Broken()
        return model

    monkeypatch.setattr(follower_module, "load_model", load_breaking_v2)
    client.registry.set_alias("iris", "champion", 1)
    follower = ModelFollower("models:/iris@champion", client)
    before = follower.load()
    client.registry.set_alias("iris", "champion", 2)
    assert follower.refresh() is False and follower.current is before
    error = follower.status()["last_error"]
    assert isinstance(error, dict) and "cannot score its own example" in error["error"]
