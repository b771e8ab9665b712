"""The public names of `tracking`, pinned: `__all__` is exactly these, each resolves, none is left out."""

from __future__ import annotations

import importlib
import types

import tracking

EXPECTED = {
    "ActiveRun",
    "Experiment",
    "ExperimentNotFound",
    "FilterError",
    "ImportConflict",
    "InvalidArtifactPath",
    "InvalidParameter",
    "InvalidURI",
    "LifecycleError",
    "Metric",
    "MetricPoint",
    "MetricSink",
    "MetricSummary",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFound",
    "NotFound",
    "ParamConflict",
    "PermissionDenied",
    "RegistryError",
    "Run",
    "RunExists",
    "RunFinished",
    "RunInUse",
    "RunNotFound",
    "RunStatus",
    "SchemaVersionError",
    "SignatureError",
    "SinkError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "SweepLeased",
    "TrackingClient",
    "TrackingError",
    "Unauthenticated",
    "connect",
    "load_model",
    "active_run",
    "end_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "set_experiment",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
    "sklearn",
}
# Module-level names of tracking/__init__.py that are not exports: the __future__ import and
# the typing flag (the other helpers are underscored).
NOT_EXPORTS = {"annotations", "TYPE_CHECKING"}


def test_all_is_exactly_the_expected_names() -> None:
    assert len(tracking.__all__) == len(set(tracking.__all__)), "a name is listed twice"
    assert set(tracking.__all__) == EXPECTED


def test_every_exported_name_resolves_including_the_lazy_ones() -> None:
    lazy = tracking._LAZY
    assert set(lazy) <= EXPECTED
    for name in lazy:  # forget what earlier imports cached, so the lookup goes through __getattr__
        vars(tracking).pop(name, None)
    for name in tracking.__all__:
        value = getattr(tracking, name)
        assert value is not None, name
        if name in lazy:
            module = importlib.import_module(lazy[name])
            # A lazy submodule (``tracking.sklearn``) is the module itself.
            assert value is (module if lazy[name] == f"tracking.{name}" else getattr(module, name)), name
    assert set(dir(tracking)) >= EXPECTED


def test_no_public_name_of_the_package_is_missing_from_all() -> None:
    public = {
        name
        for name, value in vars(tracking).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name not in NOT_EXPORTS
    }
    assert public <= set(tracking.__all__), f"public but not exported: {sorted(public - set(tracking.__all__))}"


def test_errors_share_one_base_and_the_moved_ones_keep_their_old_homes() -> None:
    from tracking import errors, sink

    for name in EXPECTED:
        value = getattr(tracking, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, tracking.TrackingError), name
            assert getattr(errors, name) is value, f"{name} lives in tracking.errors"
    assert sink.SinkError is tracking.SinkError is errors.SinkError
    assert issubclass(tracking.StoreUnavailable, tracking.StoreError)
    assert not issubclass(tracking.RunFinished, tracking.RunNotFound)
