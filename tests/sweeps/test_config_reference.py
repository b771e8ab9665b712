"""docs/config.md cannot drift from the validator: each documented table lists exactly the keys the
validator accepts there (asked of the validator itself, through its own unknown-key message)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sweeps.config import ConfigError, load_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"
BASE: dict[str, object] = {"name": "n", "objective": "m:f", "metric": {"name": "loss", "goal": "minimize"}}
# Where each documented table lives in a config, and a valid value to put an unknown key into.
SECTIONS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    "(top)": ((), {}),
    "metric": (("metric",), {"name": "loss", "goal": "minimize"}),
    "parameters.float": (("parameters", "p"), {"type": "float", "low": 0, "high": 1}),
    "parameters.categorical": (("parameters", "p"), {"type": "categorical", "choices": [1]}),
    "budget": (("budget",), {}),
    "execution": (("execution",), {}),
    "execution.resources": (("execution", "resources"), {}),
    "register": (("register",), {"model": "m"}),
    "report": (("report",), {}),
    "warm_start": (("warm_start",), {"sweeps": ["earlier-1a2b3c4d"]}),
    "repeats": (("repeats",), {"param": "seed", "values": [0, 1]}),
}


def accepted_keys(where: tuple[str, ...], valid: dict[str, object]) -> set[str]:
    config: dict[str, object] = dict(BASE)
    node = config
    for part in where[:-1]:
        node = node.setdefault(part, {})  # type: ignore[assignment]
    if where:
        node[where[-1]] = {**valid, "zz_unknown": 1}
    else:
        config["zz_unknown"] = 1
    with pytest.raises(ConfigError) as info:
        load_config(config)
    found = re.search(r"unknown key 'zz_unknown'; expected one of: ([^\n]+)", str(info.value))
    assert found, str(info.value)
    return {k.strip() for k in found.group(1).split(",")}


def documented_keys() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    current: str | None = None
    for line in DOC.read_text().splitlines():
        marker = re.fullmatch(r"<!-- keys: (\S+) -->", line.strip())
        if marker:
            current = marker.group(1)
            tables[current] = set()
        elif current is not None and line.startswith("| `"):
            tables[current] |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
        elif current is not None and tables[current] and not line.startswith("|"):
            current = None
    return tables


def test_every_documented_table_lists_exactly_the_keys_the_validator_accepts() -> None:
    documented = documented_keys()
    assert set(documented) == set(SECTIONS)
    for section, (where, valid) in SECTIONS.items():
        assert documented[section] == accepted_keys(where, valid), section
