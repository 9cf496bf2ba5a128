import pytest
from django.test import Client


@pytest.fixture
def client_as(db):
    """A test client logged in as `user` (None: anonymous)."""

    def make(user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
