"""A sweep on PostgreSQL survives the database restarting or stopped for 20 s: every trial
FINISHED, each with exactly the points it logged, none left RUNNING."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import pg_outage, postgres
from tests.sweeps.outage_checks import sweep_through

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("ray_session")]


def test_a_sweep_survives_a_postgres_restart(own_postgres: postgres.PostgresServer, tmp_path: Path) -> None:
    sweep_through(lambda: pg_outage.restart(own_postgres, "fast"), own_postgres.create_database(), tmp_path)


@pytest.mark.slow
def test_a_sweep_survives_postgres_stopped_for_20_s(own_postgres: postgres.PostgresServer, tmp_path: Path) -> None:
    def outage() -> None:
        with pg_outage.stopped(own_postgres):
            began = time.monotonic()
            while time.monotonic() - began < 20.0:  # the outage lasts this long
                time.sleep(0.1)

    sweep_through(outage, own_postgres.create_database(), tmp_path)
