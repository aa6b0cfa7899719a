"""PostgreSQL helpers shared by the services: connecting, creating a service's database, migrations."""

from shared.db.connect import CONNECTION_LOST, DATABASE_ERRORS, Connection, create_pool, drop_database, ensure_database
from shared.db.migrations import Migration, MigrationSource, apply_migrations, pending_migrations

__all__ = [
    "CONNECTION_LOST",
    "DATABASE_ERRORS",
    "Connection",
    "Migration",
    "MigrationSource",
    "apply_migrations",
    "create_pool",
    "drop_database",
    "ensure_database",
    "pending_migrations",
]
