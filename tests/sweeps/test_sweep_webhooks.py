"""A sweep's registration reaches the model's webhook before `sweeps run` returns."""

from __future__ import annotations

import json

import pytest

import sweeps
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import sweep_config
from tests.tracking.test_webhooks import SECRET, Receiver, verify


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    yield r
    r.close()


def test_the_sweep_registration_is_delivered_before_the_run_returns(place: SweepPlace, receiver: Receiver) -> None:
    with place.client() as client:
        client.registry.create_registered_model("hooked")
        client.registry.add_webhook("hooked", receiver.url, SECRET, events="register")
    config = sweep_config(
        "with_artifacts",
        place.artifacts,
        trials=2,
        backend="local",
        register={"model": "hooked", "alias": "challenger"},
    )
    result = sweeps.run(config, store=place.store, no_report=True)
    assert result.registered is not None
    # Delivered by the sweep itself: no server runs here, and nothing waits after the call.
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert verify(headers, body)
    event = json.loads(body)
    assert (event["event"], event["model"], event["version"]) == ("register", "hooked", 1)
    assert event["to"] == f"runs:/{result.best.run_id}/model" and "best trial" in event["reason"]
