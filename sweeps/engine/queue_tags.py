"""Tags on a trial's run that say why it was queued: an `enqueue:` entry, a re-run, a repeat."""

from __future__ import annotations

__all__ = ["ENQUEUED", "GROUP", "OUTPUT_TAIL", "REPEAT", "REPEATS_PARAM", "RERUN_OF", "WARM_TRIALS"]

ENQUEUED = "sweeps.enqueued"  # index of the `enqueue:` entry the trial evaluates
RERUN_OF = "sweeps.rerun_of"  # trial number of the crashed trial whose params it runs again
GROUP = "sweeps.group"  # `repeats:`: the configuration's group (its first trial's number)
REPEAT = "sweeps.repeat"  # `repeats:`: the index of the repeat value the trial ran with
WARM_TRIALS = "sweeps.warm_start.trials"  # on the parent: how many earlier trials the study started with
# On the parent: the param `repeats:` sets per run (the same string as reports.config_ranking.REPEATS_PARAM).
REPEATS_PARAM = "sweeps.repeats.param"
# On a failed trial: the last lines of its output (all of it is the `output.log` artifact).
OUTPUT_TAIL = "sweeps.output_tail"
