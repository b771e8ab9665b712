"""The test infrastructure itself: without PostgreSQL, its tests skip locally and fail in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracking
from tests.conftest import BACKENDS, postgres_required
from tests.support import postgres

INNER_TEST = """
def test_store(store_uri):
    assert store_uri
"""


@pytest.fixture
def no_postgres(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An inner pytest project that uses this conftest on a machine without PostgreSQL."""
    for name in ("CI", "SWEEPS_REQUIRE_POSTGRES", postgres.ENV_URI):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(postgres.ENV_BIN_DIR, "/nonexistent/postgresql/bin")
    pytester.makeconftest("from tests.conftest import *  # noqa: F403\n")
    pytester.makepyfile(test_inner=INNER_TEST)
    return pytester


def test_postgres_tests_skip_locally_when_postgres_is_missing(no_postgres: pytest.Pytester) -> None:
    result = no_postgres.runpytest_inprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=len(BACKENDS) - 1, skipped=1)  # every backend but PostgreSQL runs
    result.stdout.fnmatch_lines(["*PostgreSQL server binaries not found*"])


def test_postgres_tests_fail_in_ci_when_postgres_is_missing(
    no_postgres: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = no_postgres.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(BACKENDS) - 1, errors=1)
    result.stdout.fnmatch_lines(["*PostgreSQL is required here but unavailable*"])


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({}, False),
        ({"CI": "true"}, True),
        ({"CI": "false"}, False),
        ({"SWEEPS_REQUIRE_POSTGRES": "1"}, True),
        ({"SWEEPS_REQUIRE_POSTGRES": "0"}, False),
    ],
)
def test_when_postgres_is_required(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], required: bool) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("SWEEPS_REQUIRE_POSTGRES", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert postgres_required() is required


def test_a_postgres_test_that_skips_fails_in_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest("from tests.conftest import *  # noqa: F403\n")
    pytester.makepyfile(
        test_inner="""
        import pytest

        @pytest.mark.postgres
        def test_skips_for_some_reason():
            pytest.skip("no reason")

        def test_not_postgres_may_skip():
            pytest.skip("fine")

        @pytest.mark.postgres
        @pytest.mark.xfail(reason="known bug", strict=True)
        def test_known_bug():
            assert False
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*skipped where PostgreSQL is required*no reason*"])


def test_the_throwaway_server_runs_with_fast_settings(postgres_server: postgres.PostgresServer) -> None:
    with postgres_server.admin_connection() as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
    assert version is not None and int(version[0]) >= 150000
    if postgres_server.owned:
        assert fsync == ("off",)
        assert postgres_server.data_dir is not None and postgres_server.data_dir.exists()


def test_each_postgres_test_starts_from_an_empty_store(postgres_uri: str, tmp_path: Path) -> None:
    with tracking.connect(postgres_uri, artifacts=str(tmp_path)) as client:
        assert client.list_experiments() == []
        client.start_run("leftover").end()  # the next user of this database must not see it
