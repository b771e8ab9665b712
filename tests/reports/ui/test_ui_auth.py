"""The UI behind `sweeps server` (auth on), in Chromium: signing in with a token gives an HttpOnly,
SameSite=Strict session; roles decide what a page shows and what an action may do; signing out ends it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from ui_support import Tab

import tracking
from tests.support import server as http_support
from tracking.auth.base import Role
from tracking.store.sql_store import SqlStore

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class AuthSetup:
    server: http_support.ServerProcess
    reader_token: str
    editor_token: str
    secret_run: str
    open_run: str
    model: str


@pytest.fixture(scope="module")
def auth_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthSetup]:
    root = tmp_path_factory.mktemp("ui-auth")
    uri, artifacts = f"sqlite:///{root / 'store.db'}", str(root / "artifacts")
    with tracking.connect(uri, artifacts=artifacts) as client:
        with client.start_run(experiment="open-exp", name="visible") as run:
            run.log_metrics({"loss": 0.5}, step=0)
        open_run = run.run_id
        with client.start_run(experiment="secret-exp", name="hidden") as run:
            run.log_metrics({"loss": 0.1}, step=0)
        secret_run = run.run_id
        store = client._store
        assert isinstance(store, SqlStore)
        store.registry_store().register_version(
            "team-model",
            run_id=open_run,
            source=f"runs:/{open_run}/model",
            description=None,
            tags={},
            actor="test",
            reason=None,
            alias=None,
        )
        with client.start_run(experiment="secret-exp", name="hidden-model-run", params={"secret_param": "42"}) as run:
            pass
        store.registry_store().register_version(
            "team-model",
            run_id=run.run_id,
            source=f"runs:/{run.run_id}/model",
            description=None,
            tags={},
            actor="test",
            reason=None,
            alias=None,
        )
        auth = store.auth_store()
        _, reader_token = auth.add_user("reader")
        _, editor_token = auth.add_user("editor")
        open_id = client.get_experiment_by_name("open-exp").experiment_id
        auth.grant("reader", Role.READ, experiment_id=open_id)
        auth.grant("reader", Role.READ, model_name="team-model")
        auth.grant("editor", Role.EDIT, model_name="team-model")
    with http_support.running(uri, Path(artifacts), root / "logs", command="server") as server:
        yield AuthSetup(server, reader_token, editor_token, secret_run, open_run, "team-model")


def _signed_in(browser, setup: AuthSetup, token: str) -> Tab:  # type: ignore[no-untyped-def]
    tab = Tab(browser, setup.server.url)
    tab.page.goto(setup.server.url + "/")
    tab.page.wait_for_selector("#signin-form")
    assert tab.page.url.startswith(setup.server.url + "/signin")
    tab.page.fill("#token", token)
    with tab.page.expect_navigation():
        tab.page.click("#signin-button")
    tab.page.wait_for_selector("body[data-ready]")
    assert tab.page.url == setup.server.url + "/"
    return tab


def test_sign_in_gives_a_strict_http_only_session(browser, auth_setup: AuthSetup) -> None:  # type: ignore[no-untyped-def]
    tab = _signed_in(browser, auth_setup, auth_setup.reader_token)
    try:
        cookies = {c["name"]: c for c in tab.context.cookies()}
        session = cookies["sweeps_session"]
        assert session["httpOnly"] is True and session["sameSite"] == "Strict"
        assert auth_setup.reader_token not in session["value"]  # the cookie is a random id, not the token
        assert tab.page.evaluate("document.cookie") == ""  # no script can read it
        names = tab.page.eval_on_selector_all(".experiment-link", "links => links.map(a => a.textContent)")
        assert names == ["open-exp"]  # the experiment without a grant is not listed
        assert tab.errors == [] and tab.external == []
    finally:
        tab.close()


def test_a_bad_token_is_refused_at_sign_in(browser, auth_setup: AuthSetup) -> None:  # type: ignore[no-untyped-def]
    tab = Tab(browser, auth_setup.server.url)
    try:
        tab.open("/signin")
        tab.page.fill("#token", "sweeps_nothing_valid")
        with tab.page.expect_response(lambda r: r.url.endswith("/signin") and r.request.method == "POST") as answer:
            tab.page.click("#signin-button")
        assert answer.value.status == 401
        tab.page.wait_for_selector("body[data-ready] .message.bad")
        assert "not valid" in tab.page.inner_text("#app")
        assert "sweeps_session" not in {c["name"] for c in tab.context.cookies()}
    finally:
        tab.close()


def test_pages_without_a_grant_answer_404(browser, auth_setup: AuthSetup) -> None:  # type: ignore[no-untyped-def]
    tab = _signed_in(browser, auth_setup, auth_setup.reader_token)
    try:
        assert tab.open("/experiments/open-exp").status == 200
        assert tab.open(f"/runs/{auth_setup.open_run}").status == 200
        assert tab.open("/experiments/secret-exp").status == 404
        assert tab.open(f"/runs/{auth_setup.secret_run}").status == 404
        data = tab.page.request.get(auth_setup.server.url + "/ui/api/experiments/secret-exp/runs")
        assert data.status == 404
        series = tab.page.request.get(f"{auth_setup.server.url}/ui/api/runs/{auth_setup.secret_run}/series?key=loss")
        assert series.status == 404
    finally:
        tab.close()


def test_an_action_the_role_does_not_allow_is_refused_on_the_server(browser, auth_setup: AuthSetup) -> None:  # type: ignore[no-untyped-def]
    tab = _signed_in(browser, auth_setup, auth_setup.reader_token)
    try:
        tab.open(f"/models/{auth_setup.model}")
        assert tab.page.locator("#no-actions").count() == 1  # read: no buttons offered
        # The request a page of this server would send, CSRF token included: the role still refuses it.
        status = tab.page.evaluate(
            """async (name) => (await fetch(`/ui/api/models/${name}/alias`, {method: "POST",
                 headers: {"Content-Type": "application/json", "X-CSRF-Token": UI.csrf},
                 body: JSON.stringify({alias: "champion", version: 1})})).status""",
            auth_setup.model,
        )
        assert status == 403
    finally:
        tab.close()
    editor = _signed_in(browser, auth_setup, auth_setup.editor_token)
    try:
        editor.open(f"/models/{auth_setup.model}")
        assert editor.page.locator("#set-stage").count() == 0  # stages need manage
        # Without the page's CSRF token the same allowed action is refused.
        forged = editor.page.evaluate(
            """async (name) => (await fetch(`/ui/api/models/${name}/alias`, {method: "POST",
                 headers: {"Content-Type": "application/json"},
                 body: JSON.stringify({alias: "champion", version: 1})})).status""",
            auth_setup.model,
        )
        assert forged == 403
        editor.page.fill("#alias-name", "champion")
        editor.page.click("#set-alias")
        editor.page.wait_for_selector("body[data-ready] #action-message .good")
        audit = editor.page.eval_on_selector_all(
            "#audit-table tbody tr", "rows => rows.map(r => r.cells[6].textContent)"
        )
        assert audit[0] == "editor"  # who: the signed-in user
        stage = editor.page.evaluate(
            """async (name) => (await fetch(`/ui/api/models/${name}/stage`, {method: "POST",
                 headers: {"Content-Type": "application/json", "X-CSRF-Token": UI.csrf},
                 body: JSON.stringify({version: 1, stage: "Production"})})).status""",
            auth_setup.model,
        )
        assert stage == 403
    finally:
        editor.close()


def test_sign_out_ends_the_session(browser, auth_setup: AuthSetup) -> None:  # type: ignore[no-untyped-def]
    tab = _signed_in(browser, auth_setup, auth_setup.reader_token)
    try:
        cookie = next(c["value"] for c in tab.context.cookies() if c["name"] == "sweeps_session")
        tab.page.click("#signout")
        tab.page.wait_for_selector("#signin-form")
        tab.page.goto(auth_setup.server.url + "/experiments/open-exp")
        tab.page.wait_for_selector("#signin-form")  # sent back to sign in
        # The old cookie, replayed, opens nothing: the session is gone on the server.
        replayed = httpx.get(
            auth_setup.server.url + "/ui/api/experiments", cookies={"sweeps_session": cookie}, follow_redirects=False
        )
        assert replayed.status_code == 401
    finally:
        tab.close()


def test_a_versions_lineage_hides_a_run_the_user_may_not_read(browser, auth_setup: AuthSetup) -> None:  # type: ignore[no-untyped-def]
    tab = _signed_in(browser, auth_setup, auth_setup.reader_token)
    try:
        assert tab.open(f"/models/{auth_setup.model}/versions/1").status == 200
        assert auth_setup.open_run in tab.page.inner_text("#app")  # a readable run is shown
        assert tab.open(f"/models/{auth_setup.model}/versions/2").status == 200
        text = tab.page.inner_text("#app")
        assert "secret_param" not in text and "no grant" in text
    finally:
        tab.close()
