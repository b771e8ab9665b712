"""Earlier shapes of tables that a migration has since changed, frozen for the migrations that build or restore them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, MetaData, PrimaryKeyConstraint, String, Table

from tracking.limits import KEY_LEN, RUN_ID_LEN
from tracking.store.schema import metadata

# Tables a later migration changed, frozen here in their 0001 shape; every other table is
# created from its current definition, which is still its 0001 shape.
_CHANGED_LATER = ("metrics", "metric_summaries")


def tables_0001() -> MetaData:
    """The whole schema as revision 0001 created it."""
    tables = MetaData()
    for table in metadata.sorted_tables:
        if table.name not in _CHANGED_LATER:
            table.to_metadata(tables)
    Table(
        "metrics",
        tables,
        Column("run_id", String(RUN_ID_LEN), nullable=False),
        Column("key", String(KEY_LEN), nullable=False),
        Column("step", BigInteger, nullable=False),
        Column("value", Float(precision=53), nullable=True),
        Column("timestamp", BigInteger, nullable=False),
        PrimaryKeyConstraint("run_id", "key", "step"),
    )
    Table(
        "metric_summaries",
        tables,
        Column("run_id", String(RUN_ID_LEN), nullable=False),
        Column("key", String(KEY_LEN), nullable=False),
        Column("last_value", Float(precision=53), nullable=True),
        Column("last_step", BigInteger, nullable=False),
        Column("last_timestamp", BigInteger, nullable=False),
        Column("min_value", Float(precision=53), nullable=True),
        Column("min_step", BigInteger, nullable=False),
        Column("max_value", Float(precision=53), nullable=True),
        Column("max_step", BigInteger, nullable=False),
        PrimaryKeyConstraint("run_id", "key"),
        Index("ix_metric_summaries_key_last", "key", "last_value"),
    )
    return tables
