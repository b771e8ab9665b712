"""The wire format: every record and point frame round-trips exactly; malformed frames are a 400, never a crash."""

from __future__ import annotations

import contextlib
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracking.errors as errors_module
from tracking import wire
from tracking.entities import Metric, MetricPoint, MetricSummary, Run, RunStatus
from tracking.errors import FilterError, StoreUnavailable, TrackingError
from tracking.point_block import PointBlock
from tracking.registry.entities import AuditEntry, ModelVersion, PromotionDecision, RegisteredModel, Stage

keys = st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=20).filter(str.strip)
int64 = st.integers(-(2**63), 2**63 - 1)
floats = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def blocks(draw: st.DrawFn) -> PointBlock:
    names = draw(st.lists(keys, min_size=1, max_size=5, unique=True))
    n = draw(st.integers(0, 40))
    kidx = draw(st.lists(st.integers(0, len(names) - 1), min_size=n, max_size=n))
    return PointBlock(
        draw(st.text(st.sampled_from("abc123_-"), min_size=1, max_size=32)),
        tuple(names),
        np.array(kidx, dtype=draw(st.sampled_from(["u1", "<u2", "<u4", "<i8"]))),
        np.array(draw(st.lists(int64, min_size=n, max_size=n)), dtype="<i8"),
        np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype="<f8"),
        np.array(draw(st.lists(int64, min_size=n, max_size=n)), dtype="<i8"),
    )


def same_points(a: PointBlock, b: PointBlock) -> bool:
    # NaN != NaN: compare the values' bytes
    return (
        a.run_id == b.run_id
        and a.keys == b.keys
        and a.key_index.tolist() == b.key_index.tolist()
        and a.steps.tolist() == b.steps.tolist()
        and a.values.tobytes() == np.asarray(b.values, "<f8").tobytes()
        and a.timestamps.tolist() == b.timestamps.tolist()
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(blocks(), max_size=5), st.dictionaries(keys, st.text(max_size=10), max_size=3))
def test_a_points_frame_gives_back_the_same_blocks_and_meta(sent: list[PointBlock], meta: dict[str, str]) -> None:
    got_meta, got = wire.decode_frame(wire.encode_frame(meta, sent))
    assert got_meta == meta
    assert len(got) == len(sent) and all(same_points(a, b) for a, b in zip(sent, got, strict=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(blocks(), min_size=1, max_size=2), st.data())
def test_a_damaged_frame_is_a_wire_error_never_another_exception(sent: list[PointBlock], data: st.DataObject) -> None:
    body = bytearray(wire.encode_frame({}, sent))
    cut = data.draw(st.integers(0, len(body) - 1))
    damaged = data.draw(
        st.sampled_from(
            [
                bytes(body[:cut]),  # truncated
                bytes(body) + b"x",  # trailing bytes
                bytes(body[:cut]) + bytes([(body[cut] + 1) % 256]) + bytes(body[cut + 1 :]),  # one byte changed
            ]
        )
    )
    try:
        _, got = wire.decode_frame(damaged)
    except wire.WireError:
        return
    for block in got:  # what still decodes is checked at the trust boundary, as the server does
        with contextlib.suppress(errors_module.InvalidParameter):
            block.check()


@given(st.binary(max_size=200))
def test_random_bytes_are_a_wire_error(body: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.decode_frame(body)


def test_loose_points_travel_as_blocks_in_arrival_order_per_run() -> None:
    p = [
        MetricPoint("a", "loss", 1, 0.5, 10),
        MetricPoint("b", "loss", 1, 0.7, 11),
        MetricPoint("a", "loss", 1, 0.9, 12),
    ]
    block = PointBlock.from_points([MetricPoint("c", "acc", 0, 1.0, 1)])
    out = wire.as_blocks([*p, block, p[0]])
    assert [(b.run_id, b.to_points()) for b in out] == [
        ("a", [p[0], p[2]]),  # the first of run a's two points at step 1 stays first: first-wins holds
        ("b", [p[1]]),
        ("c", block.to_points()),
        ("a", [p[0]]),
    ]


summaries = st.builds(MetricSummary, keys, floats, int64, int64, floats, int64, floats, int64)


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        Run,
        run_id=st.text("abcdef0123", min_size=1, max_size=32),
        experiment_id=st.integers(1, 10**6),
        name=st.text(max_size=30),
        status=st.sampled_from(list(RunStatus)),
        start_time=int64,
        end_time=st.none() | int64,
        parent_run_id=st.none() | st.text("abc", min_size=1),
        artifact_uri=st.text(max_size=30),
        error=st.none() | st.text(max_size=30),
        user=st.none() | st.text(max_size=10),
        params=st.dictionaries(keys, st.text(max_size=10), max_size=3),
        tags=st.dictionaries(keys, st.text(max_size=10), max_size=3),
        metrics=st.lists(summaries, max_size=3).map(lambda ss: {s.key: s for s in ss}),
    )
)
def test_a_run_round_trips_through_json_nan_and_infinity_included(run: Run) -> None:
    body = wire.dumps(wire.run_to(run))  # strict JSON: no NaN literal
    got = wire.run_from(wire.loads(body))
    assert repr(got) == repr(run)  # repr: NaN compares unequal to itself


def test_registry_records_round_trip() -> None:
    model = RegisteredModel("m", "d", 1, 2, 3, {"a": "b"}, {"champion": 2})
    version = ModelVersion("m", 2, "r1", "runs:/r1/model", Stage.PRODUCTION, None, 1, 2, {"t": "v"}, ("champion",))
    audit = AuditEntry(1, "m", 2, "alias", "champion", "1", "2", 5, "alice", "better")
    decision = PromotionDecision("m", "acc", "maximize", True, 1, 2, 2, math.nan, 0.9, 0.0, "wins", "runs")
    assert wire.model_from(wire.loads(wire.dumps(wire.model_to(model)))) == model
    assert wire.version_from(wire.loads(wire.dumps(wire.version_to(version)))) == version
    assert wire.audit_from(wire.loads(wire.dumps(wire.audit_to(audit)))) == audit
    assert repr(wire.decision_from(wire.loads(wire.dumps(wire.decision_to(decision))))) == repr(decision)


def test_histories_travel_as_blocks() -> None:
    histories = {
        "r1": {"loss": [Metric("loss", 0.5, 0, 1), Metric("loss", math.inf, 3, 2)], "acc": [Metric("acc", 1.0, 1, 3)]}
    }
    _, blocks_ = wire.decode_frame(wire.encode_frame({}, wire.histories_to_blocks(histories)))
    assert wire.blocks_to_histories(blocks_) == histories


def tracking_errors() -> list[type[TrackingError]]:
    return [c for _, c in inspect.getmembers(errors_module, inspect.isclass) if issubclass(c, TrackingError)]


@pytest.mark.parametrize("cls", tracking_errors(), ids=lambda c: c.__name__)
def test_every_tracking_error_comes_back_as_its_own_class_with_the_message(cls: type[TrackingError]) -> None:
    exc = cls("what went wrong, and where")
    code, status = wire.error_code(exc)
    assert 400 <= status < 600 and code != "internal_error"
    with pytest.raises(TrackingError) as caught:
        wire.raise_error(status, wire.error_body(code, str(exc)), "http://server")
    if cls is errors_module.SinkError:  # a client-side error: no store raises it, so it has no code of its own
        assert type(caught.value) is TrackingError
    else:
        assert type(caught.value) is cls
    assert "what went wrong, and where" in str(caught.value)


def test_statuses_of_the_design() -> None:
    cases = {
        errors_module.RunNotFound: 404,
        errors_module.ModelNotFound: 404,
        errors_module.RunExists: 409,
        errors_module.ParamConflict: 409,
        errors_module.RunFinished: 409,
        errors_module.InvalidParameter: 400,
        errors_module.InvalidArtifactPath: 400,
        errors_module.Unauthenticated: 401,
        errors_module.PermissionDenied: 403,
        errors_module.RegistryError: 409,
        errors_module.StoreUnavailable: 503,
        errors_module.SchemaVersionError: 503,
    }
    assert {cls: wire.error_code(cls("x"))[1] for cls in cases} == cases
    assert wire.error_code(FilterError("bad", "a = ", 3)) == ("filter_error", 400)
    assert wire.error_code(wire.BodyTooLarge("big")) == ("body_too_large", 413)
    assert wire.error_code(RuntimeError("boom")) == ("internal_error", 500)


def test_a_filter_error_keeps_the_servers_pointer_once() -> None:
    original = FilterError("unexpected end", "metrics.a >", 11)
    with pytest.raises(FilterError) as caught:
        wire.raise_error(400, wire.error_body("filter_error", str(original)), "http://server")
    assert str(caught.value) == str(original)


def test_a_proxys_page_is_a_store_error_and_a_gateway_one_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match="HTTP 502"):
        wire.raise_error(502, b"<html>Bad Gateway</html>", "http://server")
    with pytest.raises(errors_module.StoreError, match="HTTP 500") as caught:
        wire.raise_error(500, b"oops", "http://server")
    assert not isinstance(caught.value, StoreUnavailable)
