"""Schema migrations: Alembic, one history per service, run by `dossier migrate`.

Each service keeps its revisions in `services/<name>/migrations/versions/`; its `env.py` is three
lines that call `run_env`. Migrations run before a service's processes start (a one-shot
`migrate` step in `make run` and in docker-compose), never concurrently from every process.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, select, update

from shared.audit import (
    GENESIS,
    AuditKey,
    append_only_ddl,
    check_rows,
    drop_append_only_ddl,
    iso,
    record_hash,
)
from shared.config import Settings, load_settings
from shared.db import service_metadata


def alembic_config(service: str, url: str) -> Config:
    package = import_module(f"services.{service}")
    script_location = Path(package.__file__).parent / "migrations"  # type: ignore[arg-type]
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, settings: Settings, revision: str = "head") -> None:
    url = settings.database_url(service)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(service, url)
    cfg.attributes["settings"] = settings  # a migration that re-signs audit records needs the key
    command.upgrade(cfg, revision)


def run_env(metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py`."""
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)  # type: ignore[arg-type]
    with engine.connect() as connection:
        # Batch mode lets ALTER TABLE work on SQLite (it rebuilds the table).
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def resign_audit_chain(*, keyed: bool) -> None:
    """Body of each service's keyed-audit-chain migration: re-sign every existing record.

    Upgrading (`keyed=True`), records hashed with plain SHA-256 are first checked as they are,
    then signed again with the audit key (HMAC-SHA256), which is possible once, before the
    system holds real records. A chain that does not verify is refused, not laundered into a
    keyed one. Downgrading does the reverse.
    """
    conn = op.get_bind()
    table = service_metadata().tables["audit_log"]
    rows = list(conn.execute(select(table).order_by(table.c.seq)))
    if not rows:
        return  # nothing to re-sign, and no key needed
    settings = context.config.attributes.get("settings") or load_settings()
    key = AuditKey(settings.audit_secret()).records
    old, new = (None, key) if keyed else (key, None)
    check = check_rows(rows, old)
    if not check.ok:
        raise RuntimeError(
            f"audit log does not verify as it is (record {check.first_bad_seq}: "
            f"{check.reason}); refusing to re-sign it. Keep this database for investigation.")
    dialect = conn.dialect.name
    for statement in drop_append_only_ddl(dialect):
        conn.exec_driver_sql(statement)
    prev = GENESIS
    for row in rows:
        digest = record_hash(new, prev, row.seq, iso(row.at), row.actor, row.role, row.action,
                             row.target, row.detail)
        conn.execute(update(table).where(table.c.seq == row.seq)
                     .values(prev_hash=prev, hash=digest))
        prev = digest
    for statement in append_only_ddl(dialect):
        conn.exec_driver_sql(statement)
