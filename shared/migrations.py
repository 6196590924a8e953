"""Schema migrations: Alembic, one history per service, run by `dossier migrate`.

Each service keeps its revisions in `services/<name>/migrations/versions/`; its `env.py` is three
lines that call `run_env`. Migrations run before a service's processes start (a one-shot
`migrate` step in `make run` and in docker-compose), never concurrently from every process.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from shared.config import Settings


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
    command.upgrade(alembic_config(service, url), revision)


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
