"""Length limits of stored keys and ids: one source for the validators and the table definitions.

Kept apart from the schema so that validating on a worker does not import SQLAlchemy.
"""

from __future__ import annotations

KEY_LEN = 250
RUN_ID_LEN = 32

# The most steps one writer reserves at a time for ``step=None`` points (tracking.step_blocks);
# its first blocks are smaller, so a writer that logs little leaves at most a small gap.
AUTO_STEP_BLOCK = 1024
AUTO_STEP_FIRST_BLOCK = 8
