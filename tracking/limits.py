"""Length limits of stored keys and ids: one source for the validators and the table definitions.

Kept apart from the schema so that validating on a worker does not import SQLAlchemy.
"""

from __future__ import annotations

KEY_LEN = 250
RUN_ID_LEN = 32
