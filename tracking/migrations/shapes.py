"""The tables as each revision left them, frozen for the migrations that build or restore them.

Migrations never read the live schema (`tracking.store.schema`): it follows the head revision,
and a migration must build the same tables however far the head has moved on. A new
migration that changes a table adds that table's new shape here, next to the old ones.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Frozen copies of tracking.limits at revision 0001: the column widths are part of the shape.
KEY_LEN = 250
RUN_ID_LEN = 32


def tables_0001() -> MetaData:
    """The whole schema as revision 0001 created it."""
    tables = MetaData()
    _runs_0001(tables)
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
    _registry_0001(tables)
    return tables


def metric_tables_0002() -> MetaData:
    """``metric_summaries`` and ``metrics`` as revision 0002 made them: points keyed by a series id."""
    tables = MetaData()
    Table(
        "metric_summaries",
        tables,
        # SQLite hands out ids only for an INTEGER PRIMARY KEY (its rowid).
        Column("series_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("run_id", String(RUN_ID_LEN), nullable=False),
        Column("key", String(KEY_LEN), nullable=False),
        Column("last_value", Float(precision=53), nullable=True),
        Column("last_step", BigInteger, nullable=False),
        Column("last_timestamp", BigInteger, nullable=False),
        Column("min_value", Float(precision=53), nullable=True),
        Column("min_step", BigInteger, nullable=False),
        Column("max_value", Float(precision=53), nullable=True),
        Column("max_step", BigInteger, nullable=False),
        UniqueConstraint("run_id", "key", name="uq_metric_summaries_run_key"),
        Index("ix_metric_summaries_key_last", "key", "last_value"),
    )
    Table(
        "metrics",
        tables,
        Column("series_id", BigInteger, nullable=False),
        Column("step", BigInteger, nullable=False),
        Column("value", Float(precision=53), nullable=True),
        Column("timestamp", BigInteger, nullable=False),
        PrimaryKeyConstraint("series_id", "step"),
        sqlite_with_rowid=False,
    )
    return tables


def _runs_0001(tables: MetaData) -> None:
    Table(
        "experiments",
        tables,
        Column("experiment_id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(KEY_LEN), nullable=False, unique=True),
        Column("artifact_location", Text, nullable=False),
        Column("created_at", BigInteger, nullable=False),
    )
    Table(
        "runs",
        tables,
        Column("run_id", String(RUN_ID_LEN), primary_key=True),
        Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
        Column("name", String(KEY_LEN), nullable=False),
        Column("status", String(16), nullable=False),
        Column("start_time", BigInteger, nullable=False),
        Column("end_time", BigInteger, nullable=True),
        Column("parent_run_id", String(RUN_ID_LEN), nullable=True),
        Column("artifact_uri", Text, nullable=False),
        Column("error", Text, nullable=True),
        Column("user", String(KEY_LEN), nullable=True),
        Index("ix_runs_experiment_start", "experiment_id", "start_time"),
        Index("ix_runs_parent", "parent_run_id"),
        Index("ix_runs_experiment_status", "experiment_id", "status"),
    )
    for name in ("params", "tags"):
        Table(
            name,
            tables,
            Column("run_id", String(RUN_ID_LEN), nullable=False),
            Column("key", String(KEY_LEN), nullable=False),
            Column("value", Text, nullable=False),
            PrimaryKeyConstraint("run_id", "key"),
            Index(f"ix_{name}_key_value", "key", "value"),
        )


def _registry_0001(tables: MetaData) -> None:
    Table(
        "registered_models",
        tables,
        Column("name", String(KEY_LEN), primary_key=True),
        Column("description", Text, nullable=True),
        Column("created_at", BigInteger, nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        Column("next_version", Integer, nullable=False, default=1),
    )
    Table(
        "registered_model_tags",
        tables,
        Column("name", String(KEY_LEN), ForeignKey("registered_models.name"), nullable=False),
        Column("key", String(KEY_LEN), nullable=False),
        Column("value", Text, nullable=False),
        PrimaryKeyConstraint("name", "key"),
    )
    Table(
        "model_versions",
        tables,
        Column("name", String(KEY_LEN), ForeignKey("registered_models.name"), nullable=False),
        Column("version", Integer, nullable=False),
        Column("run_id", String(RUN_ID_LEN), nullable=True),
        Column("source", Text, nullable=False),
        Column("stage", String(16), nullable=False, default="None"),
        Column("description", Text, nullable=True),
        Column("created_at", BigInteger, nullable=False),
        Column("updated_at", BigInteger, nullable=False),
        PrimaryKeyConstraint("name", "version"),
    )
    Table(
        "model_version_tags",
        tables,
        Column("name", String(KEY_LEN), nullable=False),
        Column("version", Integer, nullable=False),
        Column("key", String(KEY_LEN), nullable=False),
        Column("value", Text, nullable=False),
        PrimaryKeyConstraint("name", "version", "key"),
    )
    Table(
        "model_aliases",
        tables,
        Column("name", String(KEY_LEN), nullable=False),
        Column("alias", String(KEY_LEN), nullable=False),
        Column("version", Integer, nullable=False),
        PrimaryKeyConstraint("name", "alias"),
    )
    Table(
        "registry_audit_log",
        tables,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(KEY_LEN), nullable=False),
        Column("version", Integer, nullable=True),
        Column("action", String(32), nullable=False),
        Column("subject", String(KEY_LEN), nullable=True),
        Column("from_value", Text, nullable=True),
        Column("to_value", Text, nullable=True),
        Column("at", BigInteger, nullable=False),
        Column("actor", String(KEY_LEN), nullable=False),
        Column("reason", Text, nullable=True),
        Index("ix_registry_audit_name_at", "name", "at"),
    )


def tables_0003_new() -> MetaData:
    """The tables revision 0003 added: users, tokens and grants of a server, protected aliases,
    and the driver lease of a sweep."""
    tables = MetaData()
    Table(
        "auth_users",
        tables,
        Column("name", String(KEY_LEN), primary_key=True),
        Column("admin", Integer, nullable=False, default=0),
        Column("created_at", BigInteger, nullable=False),
    )
    Table(
        "auth_tokens",
        tables,
        Column("token_id", String(32), primary_key=True),
        Column("user_name", String(KEY_LEN), ForeignKey("auth_users.name"), nullable=False),
        Column("secret_hash", Text, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("expires_at", BigInteger, nullable=True),
        Column("revoked_at", BigInteger, nullable=True),
        Index("ix_auth_tokens_user", "user_name"),
    )
    Table(
        "auth_grants",
        tables,
        Column("user_name", String(KEY_LEN), ForeignKey("auth_users.name"), nullable=False),
        Column("scope", String(16), nullable=False),
        Column("target", String(KEY_LEN), nullable=False),
        Column("role", Integer, nullable=False),
        PrimaryKeyConstraint("user_name", "scope", "target"),
        Index("ix_auth_grants_target", "scope", "target"),
    )
    Table(
        "protected_aliases",
        tables,
        Column("name", String(KEY_LEN), nullable=False),
        Column("alias", String(KEY_LEN), nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("actor", String(KEY_LEN), nullable=False),
        PrimaryKeyConstraint("name", "alias"),
    )
    Table(
        "sweep_leases",
        tables,
        Column("sweep_run_id", String(RUN_ID_LEN), primary_key=True),
        Column("owner", String(64), nullable=False),
        Column("host", String(KEY_LEN), nullable=False),
        Column("pid", Integer, nullable=False),
        Column("acquired_at", BigInteger, nullable=False),
        Column("heartbeat_at", BigInteger, nullable=False),
        Column("expires_at", BigInteger, nullable=False),
    )
    return tables


def tables_0004_new() -> MetaData:
    """The tables revision 0004 added: blocks of steps for step=None writers, registry webhooks
    and the outbox their events leave from."""
    tables = MetaData()
    Table(
        "step_blocks",
        tables,
        Column("run_id", String(RUN_ID_LEN), nullable=False),
        Column("key", String(KEY_LEN), nullable=False),
        Column("next_step", BigInteger, nullable=False),
        PrimaryKeyConstraint("run_id", "key"),
    )
    Table(
        "webhooks",
        tables,
        Column("webhook_id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(KEY_LEN), nullable=False),
        Column("url", Text, nullable=False),
        Column("secret_sealed", Text, nullable=False),
        Column("events", Text, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("actor", String(KEY_LEN), nullable=False),
        Index("ix_webhooks_name", "name"),
    )
    Table(
        "webhook_outbox",
        tables,
        Column("event_id", Integer, primary_key=True, autoincrement=True),
        Column("webhook_id", Integer, nullable=False),
        Column("event", String(32), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", BigInteger, nullable=False),
        Column("delivered_at", BigInteger, nullable=True),
        Column("last_error", Text, nullable=True),
        Index("ix_webhook_outbox_pending", "delivered_at", "next_attempt_at"),
    )
    return tables


def tables_0006_new() -> MetaData:
    """The table revision 0006 added: the UI's browser sessions (a digest of each id, never the id)."""
    tables = MetaData()
    Table(
        "ui_sessions",
        tables,
        Column("session_hash", String(64), primary_key=True),
        Column("token_id", String(32), nullable=False),
        Column("created_at", BigInteger, nullable=False),
        Column("last_seen_at", BigInteger, nullable=False),
        Column("expires_at", BigInteger, nullable=False),
        Index("ix_ui_sessions_token", "token_id"),
        Index("ix_ui_sessions_expires", "expires_at"),
    )
    return tables
