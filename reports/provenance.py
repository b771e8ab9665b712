"""Where a sweep came from (config, code, packages, store) and where its winner went (the registry)."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from reports.sweep import Sweep
from tracking import Run, TrackingClient, TrackingError
from tracking.artifacts import Artifacts
from tracking.uri import mask_password

CONFIG_ARTIFACT = "config.yaml"
ENVIRONMENT_ARTIFACT = "environment.json"
REGISTERED_TAG = "sweeps.registered"
MAX_CONFIG_CHARS = 100_000
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")
# Secrets that are not inside a URI: "password: x", "token=x", "api_key: x" lines of a config.
_SECRET_VALUE = re.compile(
    r"(?im)^(?P<key>\s*[\w.-]*(?:password|passwd|secret|token|api_key)[\w.-]*\s*[:=]\s*)(?P<value>\S.*)$"
)


@dataclass(frozen=True, slots=True)
class Provenance:
    config: str | None  # the resolved config.yaml, secrets masked
    environment: tuple[tuple[str, str], ...]  # python, platform, git commit, ...
    packages: tuple[tuple[str, str], ...]
    code_version: str
    store: str
    sweep_tags: tuple[tuple[str, str], ...]  # the config's tags: (not the sweeps.* ones)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AliasEntry:
    alias: str
    version: int
    run_id: str | None
    stage: str
    source: str
    value: float | None  # the sweep's primary objective, read from the version's run


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    model: str | None
    registered: str | None  # models:/<name>/<version> written by the sweep
    aliases: tuple[AliasEntry, ...] = field(default_factory=tuple)
    message: str | None = None


def mask_secrets(text: str) -> str:
    """Passwords in URIs, and values of password/secret/token keys, replaced with ``***``."""
    return _SECRET_VALUE.sub(lambda m: f"{m['key']}***", mask_password(text))


def provenance(client: TrackingClient, sweep: Sweep) -> Provenance:
    """Config, environment and package versions from the parent's artifacts, plus code and store."""
    parent = sweep.parent
    artifacts = client.artifacts(parent.run_id)
    notes = []
    config, problem = _read_text(artifacts, CONFIG_ARTIFACT)
    if problem:
        notes.append(problem)
    elif config is not None and len(config) > MAX_CONFIG_CHARS:
        config = config[:MAX_CONFIG_CHARS] + "\n# ... (cut: the full file is in the parent run's artifacts)"
    raw_env, problem = _read_text(artifacts, ENVIRONMENT_ARTIFACT)
    environment: dict[str, object] = {}
    if problem:
        notes.append(problem)
    elif raw_env is not None:
        try:
            decoded = json.loads(raw_env)
            environment = decoded if isinstance(decoded, dict) else {"environment": decoded}
        except ValueError:
            notes.append(f"{ENVIRONMENT_ARTIFACT} is not valid JSON")
    packages = environment.pop("packages", {})
    package_pairs = (
        tuple(sorted((str(k), mask_secrets(str(v))) for k, v in packages.items()))
        if isinstance(packages, Mapping)
        else (("packages", mask_secrets(str(packages))),)
    )
    return Provenance(
        config=mask_secrets(config) if config is not None else None,
        environment=tuple((str(k), mask_secrets(_flat(v))) for k, v in environment.items()),
        packages=package_pairs,
        code_version=parent.tags.get("sweeps.code_version", "unknown"),
        store=mask_password(parent.tags.get("sweeps.store") or sweep.store_uri),
        sweep_tags=tuple(sorted((k, mask_secrets(v)) for k, v in parent.tags.items() if not k.startswith("sweeps."))),
        notes=tuple(notes),
    )


def _read_text(artifacts: Artifacts, name: str) -> tuple[str | None, str | None]:
    try:
        return artifacts.read_bytes(name).decode("utf-8", errors="replace"), None
    except FileNotFoundError:
        return None, f"the parent run has no {name} artifact"
    except (OSError, TrackingError, ValueError) as exc:
        return None, f"could not read {name}: {exc}"


def _flat(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def registry_entry(client: TrackingClient, sweep: Sweep) -> RegistryEntry:
    """Champion and challenger of the model the sweep registered; a message when there is none."""
    registered = sweep.parent.tags.get(REGISTERED_TAG)
    if not registered:
        return RegistryEntry(None, None, message="no registry entry: this sweep registered no model")
    match = _MODEL_URI.match(registered)
    if match is None:
        message = f"no registry entry: {REGISTERED_TAG} is not models:/<name>/<version>"
        return RegistryEntry(None, registered, message=message)
    if importlib.util.find_spec("tracking.registry") is None:
        return RegistryEntry(match["name"], registered, message="no registry entry: this installation has no registry")
    name = match["name"]
    entries = []
    for alias in ("champion", "challenger"):
        try:
            version = client.registry.get_version_by_alias(name, alias)
        except TrackingError:
            continue  # that alias is not set (yet)
        entries.append(
            AliasEntry(
                alias=alias,
                version=int(version.version),
                run_id=version.run_id,
                stage=str(version.stage),
                source=version.source,
                value=_objective_of(client, version.run_id, sweep),
            )
        )
    message = None if entries else f"model {name!r} has neither a champion nor a challenger alias"
    return RegistryEntry(name, registered, tuple(entries), message)


def _objective_of(client: TrackingClient, run_id: str | None, sweep: Sweep) -> float | None:
    if run_id is None:
        return None
    try:
        run: Run = client.get_run(run_id)
    except TrackingError:
        return None
    summary = run.metrics.get(sweep.primary.key) or run.metrics.get(sweep.primary.name)
    return summary.last if summary is not None else None
