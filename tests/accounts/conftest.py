import pytest
from django.test import Client

from accounts.services import api_token_create


@pytest.fixture
def client_as(db):
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def make_token():
    """make_token(user, name, **kw) -> (token, key), through the service."""

    def make(user, name: str = "CMDB sync", **kwargs):
        return api_token_create(actor=user, name=name, **kwargs)

    return make
