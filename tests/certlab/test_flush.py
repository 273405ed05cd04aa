"""The test run's flush (tests/postgresql/base.py): rows deleted instead of tables truncated."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.db.backends.postgresql import operations

from accounts.models import User
from stations.models import Station
from tests.factories import StationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def flush() -> None:
    """As a transactional test's teardown flushes (Django's TransactionTestCase)."""
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)


def test_a_flush_deletes_every_row_and_keeps_the_content_types_and_permissions():
    assert connection.vendor == "postgresql"
    StationFactory()
    UserFactory()
    types = set(ContentType.objects.values_list("pk", flat=True))
    permissions = set(Permission.objects.values_list("pk", flat=True))
    flush()
    assert (Station.objects.count(), User.objects.count()) == (0, 0)
    # The same rows, not new ones that post_migrate wrote after a TRUNCATE.
    assert set(ContentType.objects.values_list("pk", flat=True)) == types != set()
    assert set(Permission.objects.values_list("pk", flat=True)) == permissions != set()


def test_a_delete_that_fails_falls_back_to_truncating(monkeypatch):
    StationFactory()
    ran: list[str] = []
    plain = operations.DatabaseOperations.execute_sql_flush

    def racing_writer(self, sql_list):
        ran.append(sql_list[0].split()[0])
        if sql_list[0].startswith("DELETE"):
            raise DatabaseError("a process still writing")
        plain(self, sql_list)

    monkeypatch.setattr(operations.DatabaseOperations, "execute_sql_flush", racing_writer)
    flush()
    assert ran == ["DELETE", "TRUNCATE"]
    assert Station.objects.count() == 0
