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
