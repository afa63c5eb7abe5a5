"""``threadloom migrate``: copy threads between a CODEX_HOME and a PostgreSQL store, both ways.

Runs are resumable (a re-run copies only what is new or changed), show progress, and check
the counts at the end. Needs the ``postgres`` extra.
"""

from threadloom.migrate.report import MigrationReport, Progress
from threadloom.migrate.to_home import migrate_postgres_to_home
from threadloom.migrate.to_postgres import migrate_home_to_postgres

__all__ = ["MigrationReport", "Progress", "migrate_home_to_postgres", "migrate_postgres_to_home"]
