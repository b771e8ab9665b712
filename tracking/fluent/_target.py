"""What the fluent calls write to: a `RunTarget`, either a client's `ActiveRun` or a sweep's `Trial`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["RunTarget"]


@runtime_checkable
class RunTarget(Protocol):
    """One run's writes. `tracking.ActiveRun` is one; so is `sweeps.Trial`, which never opens a store.

    The fluent layer only forwards to these methods, so a target decides where its writes go
    (the store, or a trial's buffer that travels to the sweep driver).
    """

    @property
    def run_id(self) -> str: ...

    def log_params(self, params: Mapping[str, object]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...

    def set_tags(self, tags: Mapping[str, object]) -> None: ...

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str: ...

    def log_dict(self, obj: object, name: str) -> str: ...

    def log_text(self, text: str, name: str) -> str: ...

    def log_figure(self, figure: object, name: str) -> str: ...

    def log_image(self, image: object, name: str) -> str: ...

    def log_table(self, table: object, name: str) -> str: ...

    def log_model(self, model: object, name: str = "model", **kwargs: object) -> str: ...
