"""PostgreSQL for the test run: Django's backend, but a flush deletes rows instead of truncating.

Every ``transactional_db`` test (every test that starts a real process) ends with a flush of all
tables. PostgreSQL's TRUNCATE gives each table and index a new file, which costs 0.3 to 0.9 s on
the busy test machine, while DELETE of the few rows a test leaves takes about 10 ms. Django's
foreign keys are deferred, so deleting table by table in one transaction leaves no dangling row.

A process a test started can still be writing while the flush runs (a frame of a station that
has just disconnected); when that makes the DELETE fail (a deferred key now dangling, or a
deadlock), the flush truncates as Django does, which waits for the writer and always empties.

Content types and permissions are kept: they only mirror the models, and the flush's post_migrate
signal would write the same rows again (it still checks them).
"""

from django.core.management.color import no_style
from django.db import DatabaseError
from django.db.backends.postgresql import base, operations

KEPT = frozenset({"django_content_type", "auth_permission"})


class DatabaseOperations(operations.DatabaseOperations):
    _flush_tables: list[str] = []

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        self._flush_tables = list(tables)
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables if table not in KEPT]

    def execute_sql_flush(self, sql_list):
        try:
            super().execute_sql_flush(sql_list)
        except DatabaseError:
            if not sql_list or not sql_list[0].startswith("DELETE FROM"):
                raise
            truncate = super().sql_flush(no_style(), self._flush_tables)
            super().execute_sql_flush(truncate)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
