import pytest
from django.test import Client

from tests.factories import UserFactory, VendorFactory


@pytest.fixture
def qa_user(db):
    return UserFactory(username="qa")


@pytest.fixture
def vendor_user(db):
    return VendorFactory(username="vendor")


@pytest.fixture
def qa_client(qa_user) -> Client:
    client = Client()
    client.force_login(qa_user)
    return client


@pytest.fixture
def vendor_client(vendor_user) -> Client:
    client = Client()
    client.force_login(vendor_user)
    return client


@pytest.fixture(autouse=True)
def _fast_test_settings(settings):
    """The manifest storage needs collectstatic; unit tests render pages without running it.
    Password hashing is deliberately slow; tests log users in by the hundred."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
