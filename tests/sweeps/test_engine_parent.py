"""The parent run records the config without its credentials: params, tags and config.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

import tracking
from sweeps.config import load_config
from sweeps.engine.parent import SweepSetup, create_parent
from tests.sweeps.engine_checks import sweep_config

SECRET = "s3cret-Pa55"
STORE = f"postgresql+psycopg://sweeps:{SECRET}@db.example:5432/sweeps"


def test_a_password_in_the_config_is_masked_everywhere_the_parent_records_it(tmp_path: Path) -> None:
    config = sweep_config(
        "quadratic",
        str(tmp_path / "artifacts"),
        backend="local",
        store=STORE,
        tags={"source": f"postgresql://reader:{SECRET}@warehouse/features"},
    )
    setup = SweepSetup(
        config=load_config(config), sweep_id="t-1", store_uri=STORE, artifact_root=str(tmp_path / "artifacts")
    )
    with tracking.connect(f"sqlite:///{tmp_path / 'x.db'}", artifacts=str(tmp_path / "artifacts")) as client:
        parent = create_parent(client, setup)
        stored = client.get_run(parent.run_id)
        text = client.artifacts(parent.run_id).read_bytes("config.yaml").decode()
    assert stored.params["store"] == "postgresql+psycopg://sweeps:***@db.example:5432/sweeps"
    assert yaml.safe_load(text)["store"] == "postgresql+psycopg://sweeps:***@db.example:5432/sweeps"
    assert stored.tags["source"] == "postgresql://reader:***@warehouse/features"
    recorded = [*stored.params.values(), *stored.tags.values(), text]
    assert not [value for value in recorded if SECRET in value]
    assert not [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file() and SECRET in p.read_text()]
