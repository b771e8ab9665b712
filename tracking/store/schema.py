"""Table definitions of the tracking store (SQLAlchemy Core): created as-is in a new database, migrated in old ones."""

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

from tracking.limits import KEY_LEN, RUN_ID_LEN

# The Alembic revision these tables correspond to; bump it with every new migration. A new
# database gets these tables directly, stamped with it (tests/tracking/test_schema_create.py
# checks that this equals what the migrations build).
SCHEMA_VERSION = "0006"

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(KEY_LEN), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Soft deletion (revision 0004): set by delete_experiment, cleared by restore_experiment.
    Column("deleted_at", BigInteger, nullable=True),
)

runs = Table(
    "runs",
    metadata,
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
    # Soft deletion (revision 0004): a deleted run is hidden everywhere until restored or purged.
    Column("deleted_at", BigInteger, nullable=True),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_parent", "parent_run_id"),
    Index("ix_runs_experiment_status", "experiment_id", "status"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(RUN_ID_LEN), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
    Index("ix_params_key_value", "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(RUN_ID_LEN), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
    Index("ix_tags_key_value", "key", "value"),
)

# One row per (run, metric key): the series' integer id, which its points refer to, and its
# summary, maintained in the transaction that inserts the points, so that ranking and search
# read one row per run and never scan the history.
metric_summaries = Table(
    "metric_summaries",
    metadata,
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

# One row per point, keyed by its series' integer id: keeping the primary key up to date is
# most of the cost of an insert, and an index of two integers costs a third less per row than
# one of (run id, key, step). NaN is stored as NULL (SQLite cannot hold a NaN REAL); values
# are always numeric, so NULL is unambiguous. No foreign key: the writer creates the series
# in the same transaction, and a per-row check would slow ingestion down. On SQLite the
# table is its primary key (no separate rowid b-tree to maintain).
metrics = Table(
    "metrics",
    metadata,
    Column("series_id", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("value", Float(precision=53), nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    PrimaryKeyConstraint("series_id", "step"),
    sqlite_with_rowid=False,
)

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(KEY_LEN), primary_key=True),
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Bumped under a row lock to hand out version numbers without races.
    Column("next_version", Integer, nullable=False, default=1),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("name", String(KEY_LEN), ForeignKey("registered_models.name"), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("name", "key"),
)

model_versions = Table(
    "model_versions",
    metadata,
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

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(KEY_LEN), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("name", "version", "key"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(KEY_LEN), nullable=False),
    Column("alias", String(KEY_LEN), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("name", "alias"),
)

registry_audit_log = Table(
    "registry_audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(KEY_LEN), nullable=False),
    Column("version", Integer, nullable=True),
    Column("action", String(32), nullable=False),  # alias | stage | promote | register | delete
    Column("subject", String(KEY_LEN), nullable=True),  # alias name, or "stage"
    Column("from_value", Text, nullable=True),
    Column("to_value", Text, nullable=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(KEY_LEN), nullable=False),
    Column("reason", Text, nullable=True),
    Index("ix_registry_audit_name_at", "name", "at"),
)

# -- revision 0003: a server's users, tokens and grants; protected aliases; sweeps' driver leases

auth_users = Table(
    "auth_users",
    metadata,
    Column("name", String(KEY_LEN), primary_key=True),
    Column("admin", Integer, nullable=False, default=0),  # 1: may do everything
    Column("created_at", BigInteger, nullable=False),
)

# A token is ``swp_<token_id>_<secret>``: the id finds the row, the secret is kept only as an
# argon2id hash. Expired (expires_at past) and revoked tokens authenticate nobody.
auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("user_name", String(KEY_LEN), ForeignKey("auth_users.name"), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index("ix_auth_tokens_user", "user_name"),
)

# One role (tracking.auth.base.Role's value) per user on one experiment (scope "experiment",
# target its id as text) or registered model (scope "model", target its name).
auth_grants = Table(
    "auth_grants",
    metadata,
    Column("user_name", String(KEY_LEN), ForeignKey("auth_users.name"), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("target", String(KEY_LEN), nullable=False),
    Column("role", Integer, nullable=False),
    PrimaryKeyConstraint("user_name", "scope", "target"),
    Index("ix_auth_grants_target", "scope", "target"),
)

# Aliases only the manage role may move, and only with a reason.
protected_aliases = Table(
    "protected_aliases",
    metadata,
    Column("name", String(KEY_LEN), nullable=False),
    Column("alias", String(KEY_LEN), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("actor", String(KEY_LEN), nullable=False),
    PrimaryKeyConstraint("name", "alias"),
)

# The one driver that owns a sweep: it renews the lease while it runs; a lapsed lease (its
# driver killed) can be taken over by a resume.
sweep_leases = Table(
    "sweep_leases",
    metadata,
    Column("sweep_run_id", String(RUN_ID_LEN), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("host", String(KEY_LEN), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", BigInteger, nullable=False),
    Column("heartbeat_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# -- revision 0004: blocks of steps for step=None writers

# Per (run, key), the first step no writer has reserved for ``step=None`` points: each writer
# reserves blocks here (tracking.step_blocks), so concurrent writers never share a step.
step_blocks = Table(
    "step_blocks",
    metadata,
    Column("run_id", String(RUN_ID_LEN), nullable=False),
    Column("key", String(KEY_LEN), nullable=False),
    Column("next_step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
)

# -- revision 0004: registry webhooks and the durable outbox their events are delivered from

webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(KEY_LEN), nullable=False),  # the registered model it watches
    Column("url", Text, nullable=False),
    Column("secret_sealed", Text, nullable=False),  # the signing secret, never in clear
    Column("events", Text, nullable=False),  # comma-separated: register,alias,stage,promote
    Column("created_at", BigInteger, nullable=False),
    Column("actor", String(KEY_LEN), nullable=False),
    Index("ix_webhooks_name", "name"),
)

# One row per (event, webhook), written in the transaction of the registry change that caused it.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, nullable=False),
    Column("event", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    # revision 0005: when retrying stopped (a dead letter); `redeliver` queues it again
    Column("given_up_at", BigInteger, nullable=True),
    Index("ix_webhook_outbox_pending", "delivered_at", "next_attempt_at"),
)

# -- revision 0006: browser sessions of the UI, shared by every worker process of a server

# A session is a random id in an HttpOnly cookie; only its SHA-256 is kept. It lasts while the
# token it was opened with is valid, until sign-out, and at most until expires_at (idle: last_seen_at).
ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("token_id", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_ui_sessions_token", "token_id"),
    Index("ix_ui_sessions_expires", "expires_at"),
)
