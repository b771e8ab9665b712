"""A search on PostgreSQL runs under a statement timeout: a query nobody waits for stops."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

import tracking
from tracking.errors import StoreError
from tracking.search import runs_query


@pytest.mark.postgres
def test_a_search_past_its_time_limit_is_cancelled_with_a_clear_store_error(
    postgres_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_query, "SEARCH_TIMEOUT_S", 0.2)
    with tracking.connect(postgres_uri, artifacts=str(tmp_path)) as client:
        client.start_run("e", "only").end()
        # Another session holds the runs table: the search waits, as a slow query would run on.
        holder = sa.create_engine(postgres_uri)
        outcome: dict[str, object] = {}

        def search() -> None:
            try:
                outcome["runs"] = client.search_runs(filter="params.x = 'y'")
            except Exception as exc:
                outcome["error"] = exc

        try:
            with holder.connect() as conn, conn.begin():
                conn.exec_driver_sql("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")
                searching = threading.Thread(target=search)
                searching.start()
                searching.join(timeout=60)  # a bound, not a wait for the answer: the lock is held throughout
                stopped_by_itself = not searching.is_alive()
            searching.join()
        finally:
            holder.dispose()
        assert stopped_by_itself, "the search went on waiting past its statement timeout"
        error = outcome.get("error")
        assert isinstance(error, StoreError), outcome
        message = str(error)
        assert "ran past the search time limit of 0.2 s" in message and "SELECT" not in message, message
        # The cancelled transaction is gone with the error: the next search runs.
        assert client.search_runs()["name"].to_list() == ["only"]
