"""The objective API: the `Trial` an objective receives, and `TrialPruned` to end a trial early.

A `Trial` never touches the store: it buffers what the objective logs (reports and objective
values included, as `intermediate.<metric>` / `objective.<metric>` points) and hands it to a
`TrialChannel` (the coordinator in-process; on Ray, the worker's queue to the driver) in
batches, piggy-backed on the calls a trial has to make anyway (pruning reports, define-by-run
suggestions, the final result).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from sweeps.engine.messages import Outbox, TrialAssignment
from sweeps.engine.shipping import ShippingStore
from tracking import rich_artifacts
from tracking.artifacts import ArtifactStore
from tracking.errors import ParamConflict
from tracking.fluent import activated
from tracking.point_buffer import PointBuffer
from tracking.sweep_layout import USER_ATTR_PREFIX, intermediate_key, objective_key
from tracking.validation import check_key, check_metric_value, check_step, param_text

__all__ = ["Trial", "TrialChannel", "TrialPruned"]

# Points a trial holds before sending them: as few calls as possible, but a block (~25 B a
# point) stays under Ray's 100 KiB limit for returning a value inline rather than through
# the object store, which costs far more per call.
MAX_BUFFERED_POINTS = 3_500


class TrialPruned(optuna.TrialPruned):
    """Ends the trial as PRUNED; raising `optuna.TrialPruned` does the same."""


class TrialChannel(Protocol):
    """How a trial reaches the coordinator; every call carries the trial's pending `Outbox`."""

    def suggest(self, number: int, name: str, distribution: BaseDistribution, outbox: Outbox) -> object: ...

    def report(self, number: int, step: int, value: float, outbox: Outbox) -> bool: ...

    def send(self, number: int, outbox: Outbox) -> None: ...

    def put_artifacts(self, number: int, files: Mapping[str, bytes]) -> None: ...


class Trial:
    """One trial of a sweep, as the objective sees it (docs/objective.md).

    `report(value, step)` feeds the pruner and raises `TrialPruned` when the pruner says
    stop. An Optuna-style objective that checks `should_prune()` itself after `report`
    behaves the same: it would raise right after anyway.
    """

    def __init__(
        self,
        assignment: TrialAssignment,
        channel: TrialChannel,
        *,
        max_buffered: int = MAX_BUFFERED_POINTS,
        flush_interval_s: float = 1.0,
    ) -> None:
        self._assignment = assignment
        self._channel = channel
        self._max_buffered = max_buffered
        self._flush_interval_s = flush_interval_s
        self.params: dict[str, object] = dict(assignment.params)
        self.user_attrs: dict[str, object] = {}
        self._param_texts = {k: param_text(k, v) for k, v in self.params.items()}
        self._points = PointBuffer(assignment.run_id)  # checks each key once, appends to arrays
        self._oldest_point: float | None = None
        self._reports: list[tuple[int, float]] = []  # for Optuna; their points are in _points too
        self._last_report: float | None = None
        names = assignment.metric_names
        self._intermediate_key = intermediate_key(names[0]) if names else None
        self._params_out: dict[str, str] = {}
        self._tags_out: dict[str, str] = {}
        self._prune = False

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, run_id={self.run_id!r}, params={self.params!r})"

    @property
    def number(self) -> int:
        """The trial's number in the sweep (0-based, as in Optuna)."""
        return self._assignment.number

    @property
    def run_id(self) -> str:
        """The id of the child run this trial logs to."""
        return self._assignment.run_id

    @property
    def attempt(self) -> int:
        """0 for the first attempt; a trial whose worker died is re-run with attempt + 1."""
        return self._assignment.attempt

    # -- metrics ---------------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log several metrics at one step (`None`: the next step of each key)."""
        self._points.log(metrics, step)
        self._send_if_due()

    def _send_if_due(self) -> None:
        now = time.monotonic()
        if self._oldest_point is None:
            self._oldest_point = now
        if len(self._points) >= self._max_buffered or now - self._oldest_point >= self._flush_interval_s:
            self._channel.send(self.number, self.take_outbox())

    # -- params, tags ----------------------------------------------------------------------

    def log_param(self, key: str, value: object) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, object]) -> None:
        """Record extra params of this trial; params are immutable (a different value is an error)."""
        texts = {check_key("param", k): param_text(k, v) for k, v in params.items()}
        for key, text in texts.items():
            known = self._param_texts.get(key)
            if known is not None and known != text:
                raise ParamConflict(
                    f"param {key!r} of trial {self.number} is already {known!r}; "
                    f"cannot change it to {text!r} (params are immutable)"
                )
        for key, text in texts.items():
            if key not in self._param_texts:
                self._param_texts[key] = text
                self._params_out[key] = text

    def set_tag(self, key: str, value: object) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, object]) -> None:
        for key, value in tags.items():
            self._tags_out[check_key("tag", key)] = param_text(key, value)

    def set_user_attr(self, key: str, value: object) -> None:
        """Optuna's user attribute; stored as the tag ``user_attr.<key>`` (JSON text)."""
        self.user_attrs[key] = value
        self.set_tag(f"{USER_ATTR_PREFIX}{key}", json.dumps(value, default=str))

    # -- pruning ---------------------------------------------------------------------------

    def report(self, value: float, step: int) -> None:
        """Feed the pruner an intermediate value; raises `TrialPruned` when told to stop."""
        value = check_metric_value("report", value)
        step = check_step("report", step)
        if self._intermediate_key is not None:  # stored as a point of the trial's own block
            self._points.log({self._intermediate_key: value}, step)
        self._last_report = value
        if self._assignment.pruning.asks(step):
            self._prune = bool(self._channel.report(self.number, step, value, self.take_outbox()))
        else:
            self._reports.append((step, value))
            self._prune = False
            self._send_if_due()
        if self._prune:
            raise TrialPruned(f"trial {self.number} pruned at step {step} (value {value:g})")

    def should_prune(self) -> bool:
        """The pruner's answer to the latest `report` (False before any report)."""
        return self._prune

    # -- define-by-run ---------------------------------------------------------------------

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return float(self._suggest(name, FloatDistribution(low, high, log=log, step=step)))  # type: ignore[arg-type]

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return int(self._suggest(name, IntDistribution(low, high, log=log, step=step)))  # type: ignore[call-overload]

    def suggest_categorical(self, name: str, choices: Sequence[CategoricalChoiceType]) -> CategoricalChoiceType:
        return self._suggest(name, CategoricalDistribution(choices))  # type: ignore[return-value]

    def _suggest(self, name: str, distribution: BaseDistribution) -> object:
        # A name the config already sampled (or an earlier call suggested) keeps its value,
        # as Optuna does; a retried attempt gets the first attempt's values this way too.
        if name in self.params:
            return self.params[name]
        value = self._channel.suggest(self.number, name, distribution, self.take_outbox())
        self.params[name] = value
        self._param_texts[name] = param_text(name, value)
        return value

    # -- artifacts -------------------------------------------------------------------------

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Copy a local file or folder into the run's artifacts; returns its artifact name."""
        store = self._artifact_store()
        stored = store.put_file(path, name)
        self._ship(store)
        return stored

    def log_dict(self, obj: object, name: str) -> str:
        """Save `obj` as a JSON artifact called `name`."""
        store = self._artifact_store()
        stored = store.put_json(obj, name)
        self._ship(store)
        return stored

    def log_text(self, text: str, name: str) -> str:
        store = self._artifact_store()
        stored = store.put_bytes(text.encode(), name)
        self._ship(store)
        return stored

    def log_figure(self, figure: object, name: str) -> str:
        """Save a matplotlib (or plotly) figure; ``name``'s extension picks the format."""
        return self._put_bytes(rich_artifacts.figure_bytes(figure, name), name)

    def log_image(self, image: object, name: str) -> str:
        """Save a numpy array (HxW, HxWx3, HxWx4; uint8 or float in [0, 1]) or a PIL image."""
        return self._put_bytes(rich_artifacts.image_bytes(image, name), name)

    def log_table(self, table: object, name: str) -> str:
        """Save a pandas or polars frame as .json, .csv or .parquet."""
        return self._put_bytes(rich_artifacts.table_bytes(table, name), name)

    def _put_bytes(self, data: bytes, name: str) -> str:
        store = self._artifact_store()
        stored = store.put_bytes(data, name)
        self._ship(store)
        return stored

    def log_model(
        self, model: object, name: str = "model", input_example: object | None = None, **kwargs: object
    ) -> str:
        """Save `model` (flavor, signature, input example) under the run; returns ``runs:/<id>/<name>``."""
        from tracking.models import payload_tag, save_model

        store = self._artifact_store()
        info = save_model(model, store, name, input_example=input_example, **kwargs)  # type: ignore[arg-type]
        self._tags_out[payload_tag(info.path)] = info.sha256  # the store records it: what loading checks
        self._ship(store)
        return f"runs:/{self.run_id}/{name}"

    def _artifact_store(self) -> ArtifactStore:
        if self._assignment.ship_artifacts:
            return ShippingStore(self._assignment.artifact_uri)
        return ArtifactStore(self._assignment.artifact_uri)

    def _ship(self, store: ArtifactStore) -> None:
        if isinstance(store, ShippingStore) and store.files:
            self._channel.put_artifacts(self.number, dict(store.files))

    # -- plumbing for the executor ---------------------------------------------------------

    def run_objective(self, objective: Callable[[Trial], object]) -> object:
        """``objective(self)``, with this trial as the fluent layer's active run meanwhile.

        So ``tracking.log_metric(...)`` and ``tracking.sklearn.autolog()`` inside the objective
        write to this trial's child run, through this trial (the worker opens no store).
        """
        with activated(self):
            return objective(self)

    def final_outbox(self, values: Sequence[float] | None = None, *, pruned: bool = False) -> Outbox:
        """The attempt's last outbox, with its `objective.<metric>` points at step 0.

        Those are the returned `values`; a pruned single-objective trial's last reported
        value stands as its objective value (docs/data-model.md).
        """
        names = self._assignment.metric_names
        if values is not None:
            self._points.log({objective_key(n): v for n, v in zip(names, values, strict=True)}, 0)
        elif pruned and len(names) == 1 and self._last_report is not None:
            self._points.log({objective_key(names[0]): self._last_report}, 0)
        return self.take_outbox()

    def take_outbox(self) -> Outbox:
        """Everything logged since the last call, emptied from the trial."""
        outbox = Outbox(self._points.take(), tuple(self._reports), self._params_out, self._tags_out)
        self._oldest_point = None
        self._reports = []
        self._params_out = {}
        self._tags_out = {}
        return outbox

    def last_logged(self, key: str) -> float | None:
        """The latest value this attempt logged for metric `key`, if any."""
        return self._points.last(key)
