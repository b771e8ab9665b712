"""Governance over a server with real tokens: protecting needs MANAGE, a protected alias needs MANAGE and a
reason, the audit's ``who`` is the token's user, webhooks need MANAGE, and the lineage reads the same."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tracking
from tests.support.server import serving
from tracking.auth.base import Role
from tracking.auth.store_authorizer import StoreAuthorizer
from tracking.errors import PermissionDenied
from tracking.registry.lineage import lineage
from tracking.server import build_app
from tracking.store.sql_store import SqlStore


class Constant:
    def predict(self, rows: list[list[float]]) -> list[float]:
        return [0.0 for _ in rows]


@dataclass
class Team:
    url: str
    tokens: dict[str, str]

    def client(self, user: str) -> tracking.TrackingClient:
        return tracking.connect(self.url, token=self.tokens[user], user="someone-claimed")


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    """A server over SQLite with root (admin), alice (manage on model m) and bob (edit on m)."""
    store = SqlStore(f"sqlite:///{tmp_path / 'team.db'}")
    auth = store.auth_store()
    tokens = {name: auth.add_user(name, admin=name == "root")[1] for name in ("root", "alice", "bob")}
    try:
        app = build_app(store, StoreAuthorizer(auth), artifact_root=str(tmp_path / "artifacts"))
        with serving(app) as url:
            team = Team(url, tokens)
            with team.client("root") as root:
                with root.start_run(experiment="t") as run:
                    run.log_model(Constant(), input_example=[[1.0]])
                for _ in range(2):
                    root.registry.register_model("m", run.run_id)
                root.registry.set_alias("m", "champion", 1)
            auth.grant("alice", Role.MANAGE, model_name="m")
            auth.grant("bob", Role.EDIT, model_name="m")
            yield team
    finally:
        store.close()


def test_protecting_needs_manage_and_a_protected_alias_needs_manage_and_a_reason(team: Team) -> None:
    with team.client("bob") as bob, team.client("alice") as alice:
        with pytest.raises(PermissionDenied):
            bob.registry.protect_alias("m", "champion", reason="mine")
        assert alice.registry.protect_alias("m", "champion", reason="serves traffic") is True
        assert bob.registry.protected_aliases("m") == {"champion"}
        with pytest.raises(PermissionDenied):
            bob.registry.set_alias("m", "champion", 2, reason="bob wants it")  # EDIT is not enough
        with pytest.raises(PermissionDenied, match="needs a reason"):
            alice.registry.set_alias("m", "champion", 2)
        assert alice.registry.get_registered_model("m").aliases["champion"] == 1
        alice.registry.set_alias("m", "champion", 2, reason="v2 validated")
        bob.registry.set_alias("m", "challenger", 1)  # unprotected: EDIT moves it
        with pytest.raises(PermissionDenied):
            bob.registry.unprotect_alias("m", "champion", reason="bob")
        alice.registry.unprotect_alias("m", "champion", reason="retired")
        log = alice.registry.audit_log("m")
    who = {(e.action, e.subject): e.actor for e in log if e.action in ("protect", "unprotect", "alias")}
    assert who[("protect", "champion")] == "alice" and who[("unprotect", "champion")] == "alice"
    assert who[("alias", "challenger")] == "bob"
    assert [e.actor for e in log if e.action == "alias" and e.subject == "champion"][-1] == "alice"


def test_webhooks_need_manage_and_the_lineage_reads_over_http(team: Team) -> None:
    with team.client("bob") as bob, team.client("alice") as alice, team.client("root") as root:
        with pytest.raises(PermissionDenied):
            bob.registry.add_webhook("m", "https://hooks.example.invalid/x", "a-long-secret")
        hook = alice.registry.add_webhook("m", "https://hooks.example.invalid/x", "a-long-secret", "promote")
        assert [(w.webhook_id, w.events) for w in alice.registry.list_webhooks("m")] == [
            (hook.webhook_id, ("promote",))
        ]
        with pytest.raises(PermissionDenied):
            bob.registry.list_webhooks("m")
        with pytest.raises(PermissionDenied):
            bob.registry.redeliver_webhook("m", hook.webhook_id)
        assert alice.registry.redeliver_webhook("m", hook.webhook_id) == 0  # nothing was given up
        (listed,) = alice.registry.list_webhooks("m")
        assert listed.deliveries is not None and listed.deliveries.given_up == 0
        alice.registry.remove_webhook("m", hook.webhook_id)
        assert alice.registry.list_webhooks("m") == []

        found = lineage(root, "m", 1)
        assert found.run_status == "FINISHED" and found.payload_sha256 == found.registered_sha256
        assert [e.action for e in found.audit] == ["register", "alias"]
