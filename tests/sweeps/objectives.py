"""Tiny objectives for the engine tests, referenced as ``<this file>:<function>`` in configs.

A file reference is loaded by path on the driver and shipped to Ray workers by value, so the
tests need no PYTHONPATH or runtime_env for the workers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import optuna

from sweeps import Trial, TrialPruned

HERE = Path(__file__).resolve()


def ref(name: str) -> str:
    """The config `objective:` string for the function `name` of this module."""
    return f"{HERE}:{name}"


def quadratic(trial: Trial) -> float:
    """Logs a short curve and reports it; best at x = 2."""
    x = float(trial.params["x"])
    for step in range(3):
        loss = (x - 2.0) ** 2 + 1.0 / (step + 1)
        trial.log_metrics({"loss": loss, "x_seen": x}, step=step)
        trial.report(loss, step=step)
    trial.set_tag("note", "quadratic")
    return (x - 2.0) ** 2


def curve(trial: Trial) -> float:
    """Ten reported steps; trials with a large `x` are obviously worse at every step."""
    x = float(trial.params["x"])
    value = 0.0
    for step in range(10):
        value = x * 10 + step * 0.01
        trial.log_metric("val_loss", value, step=step)
        trial.report(value, step=step)
    return value


def conditional(trial: Trial) -> float:
    """The `l1_ratio` param exists only when `penalty` is elasticnet."""
    p = trial.params
    if p["penalty"] == "elasticnet":
        assert "l1_ratio" in p, p
        return float(p["alpha"]) + float(p["l1_ratio"])
    assert "l1_ratio" not in p, p
    return float(p["alpha"])


def define_by_run(trial: Trial) -> float:
    """A space the config cannot express: the number of layers decides which params exist."""
    layers = trial.suggest_int("layers", 1, 3)
    total = 0.0
    for i in range(layers):
        total += trial.suggest_float(f"width_{i}", 1.0, 10.0, log=True)
    trial.log_metric("total", total)
    return total


def optuna_style(trial: optuna.Trial) -> float:
    """Written for Optuna: suggests, reports, checks should_prune, raises optuna.TrialPruned."""
    x = trial.suggest_float("x", -5.0, 5.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    n = trial.suggest_int("n", 1, 4, step=1)
    trial.set_user_attr("kind_upper", kind.upper())
    value = (x - 1.0) ** 2 + n
    for step in range(4):
        trial.report(value + 10 - step, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def flaky(trial: Trial) -> float:
    """Raises on odd-numbered trials."""
    trial.log_metric("started", 1.0, step=0)
    if trial.number % 2 == 1:
        raise ValueError(f"boom on trial {trial.number}")
    return float(trial.params["x"])


def always_fails(trial: Trial) -> float:
    raise RuntimeError("this objective always fails")


def dies(trial: Trial) -> float:
    """Kills its worker process on trial 1 (every attempt), so retries run out."""
    trial.log_metric("alive", 1.0, step=0)
    trial.report(1.0, step=0)
    if trial.number == 1:
        os._exit(1)
    return float(trial.params["x"])


def dies_once(trial: Trial) -> float:
    """Kills its worker on the first attempt of trial 1 only: the retry succeeds."""
    if trial.number == 1 and trial.attempt == 0:
        os._exit(1)
    return float(trial.params["x"])


def sleepy(trial: Trial) -> float:
    """Trial 0 hangs far past any timeout; the others return at once."""
    if trial.number == 0:
        time.sleep(120)
    return float(trial.params["x"])


def slow(trial: Trial) -> float:
    """About 4 s per trial, so a driver can be interrupted mid-sweep."""
    x = float(trial.params["x"])
    for step in range(40):
        time.sleep(0.1)
        trial.log_metric("progress", step / 40, step=step)
        trial.report(x + step, step=step)
    return x


def paced(trial: Trial) -> float:
    """About 0.3 s per trial, logging and reporting three steps."""
    x = float(trial.params["x"])
    for step in range(3):
        time.sleep(0.1)
        trial.log_metric("loss", (x - 0.5) ** 2 + step, step=step)
        trial.report((x - 0.5) ** 2 + step, step=step)
    return (x - 0.5) ** 2


def sweeps_pruned(trial: Trial) -> float:
    """Raises sweeps.TrialPruned itself after two steps for large x."""
    x = float(trial.params["x"])
    trial.report(x, step=0)
    trial.report(x, step=1)
    if x > 0.5:
        raise TrialPruned()
    return x


def with_artifacts(trial: Trial) -> float:
    """Logs a dict, a text file and a small model with predict()."""
    trial.log_dict({"x": trial.params["x"]}, "info/params.json")
    trial.log_model(Constant(float(trial.params["x"])), input_example=[[1.0, 2.0]])
    return float(trial.params["x"])


def multi(trial: Trial) -> dict[str, float]:
    x = float(trial.params["x"])
    return {"acc": x, "cost": x * x}


def returns_none(trial: Trial) -> None:
    """Logs its metric and returns nothing: the last logged value counts."""
    trial.log_metric("score", float(trial.params["x"]) * 2, step=0)


class Constant:
    """A model that predicts one number for every row."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, rows: object) -> list[float]:
        return [self.value for _ in rows]  # type: ignore[attr-defined]


def clashing_distributions(trial: Trial) -> float:
    """Even trials suggest `z` as a float, odd ones as a category: Optuna refuses the odd ones."""
    if trial.number % 2 == 0:
        return trial.suggest_float("z", 0.0, 1.0)
    return float(len(str(trial.suggest_categorical("z", ["a", "b"]))))


def _refuse_to_load() -> object:
    raise ImportError("this objective cannot be loaded here")


class Unloadable:
    """Pickles fine on the driver; unpickling it (on a worker) raises ImportError."""

    def __call__(self, trial: Trial) -> float:
        return 0.0

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return _refuse_to_load, ()


unloadable = Unloadable()


def tied(trial: Trial) -> float:
    """Every trial scores the same; trial 0 ends after another one (two at a time, on Ray).

    Each trial writes ``<marker_dir>/started-<n>``; trial 0 returns once trial 2 has started,
    which it can only do in the slot trial 1 left when it ended.
    """
    marker_dir = Path(str(trial.params["marker_dir"]))
    (marker_dir / f"started-{trial.number}").write_text("started")
    deadline = time.monotonic() + 60
    while trial.number == 0 and not (marker_dir / "started-2").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the file written by trial 2, not waiting for a guess
    trial.log_model(Constant(0.5), input_example=[[1.0, 2.0]])
    return 0.5


def kills_itself(trial: Trial) -> float:
    """SIGKILLs its own worker process on trial 1 (every attempt): no Python cleanup runs."""
    import signal

    if trial.number == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return float(trial.params["x"])


def logs_then_waits(trial: Trial) -> float:
    """Logs and reports steps 0-2, writes ``<marker_dir>/trial-<n>``, then waits a minute to be interrupted.

    Run with a pruner: each report is then a round trip that carries the logged points to the driver.
    """
    for step in range(3):
        trial.log_metric("progress", float(step), step=step)
        trial.report(float(step), step=step)
    Path(str(trial.params["marker_dir"]), f"trial-{trial.number}").write_text("logged")
    time.sleep(60)
    return float(trial.params["x"])


def held(trial: Trial) -> float:
    """Trials 0-1 return at once; later ones write ``<marker_dir>/trial-<n>``, then wait while
    ``<marker_dir>/hold`` exists."""
    x = float(trial.params["x"])
    trial.log_metric("loss", x, step=0)
    if trial.number >= 2:
        marker_dir = Path(str(trial.params["marker_dir"]))
        (marker_dir / f"trial-{trial.number}").write_text("running")
        deadline = time.monotonic() + 60
        while (marker_dir / "hold").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the test removes the file; a killed driver takes this worker with it
    return x


def held_after_two(trial: Trial) -> float:
    """Trials 0 and 1 finish at once; later ones wait while the file ``hold`` exists (a minute at most),
    so a test can stop the driver while trials run, then remove the file and resume."""
    x = float(trial.params["x"])
    trial.log_metric("loss", (x - 0.5) ** 2, step=0)
    hold = Path(str(trial.params["hold"]))
    deadline = time.monotonic() + 60
    while trial.number >= 2 and hold.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the file, not a synchronisation of the test
    return (x - 0.5) ** 2


def big_artifact(trial: Trial) -> float:
    """Logs a 300 KB artifact: more than the small disks of the disk-full tests hold."""
    trial.log_dict({"blob": "x" * 300_000}, "big.json")
    return float(trial.params["x"])


def xy(trial: Trial) -> float:
    """Two floats, one reported step; the loss is x**2 + y**2."""
    value = float(trial.params["x"]) ** 2 + float(trial.params["y"]) ** 2
    trial.report(value, step=0)
    return value


def seeded(trial: Trial) -> float:
    """The loss x**2 plus a seed-dependent offset (0.01 per seed), reported over 3 steps."""
    x, seed = float(trial.params["x"]), int(trial.params["seed"])
    value = 0.0
    for step in range(3):
        value = x**2 + 0.01 * seed + (2 - step)
        trial.report(value, step=step)
    trial.log_model(_Constant(value))
    return value


class _Constant:
    """A picklable model that predicts one number (for registration tests)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, rows: list[list[float]]) -> list[float]:
        return [self.value for _ in rows]


def chatty(trial: Trial) -> float:
    """Prints, logs, warns and writes to stderr; trial `fail_at` then raises."""
    import logging
    import sys
    import warnings

    print(f"hello from trial {trial.number}")
    logging.getLogger("chatty").warning("log line of trial %d", trial.number)
    warnings.warn(f"warned in trial {trial.number}", stacklevel=1)
    sys.stderr.write(f"stderr of trial {trial.number}\n")
    if trial.number == trial.params.get("fail_at"):
        print("about to fail: the input looks wrong")
        raise RuntimeError("boom")
    return float(trial.params["x"])
