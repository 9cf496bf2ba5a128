import pytest
from rest_framework.test import APIClient

from tests.portfolio.factories import PersonFactory, TeamFactory


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def as_leader(leader):
    return client_for(leader)


@pytest.fixture
def as_owner(owner):
    return client_for(owner)


@pytest.fixture
def as_viewer(viewer):
    return client_for(viewer)


@pytest.fixture
def team(db):
    return TeamFactory(name="People systems", slug="people-systems")


@pytest.fixture
def ana(db):
    """An accountable person known by email, for upserts."""
    return PersonFactory(name="Ana Alvarez", email="ana@example.org")


def row(ext_id: str, **fields) -> dict:
    return {"external_id": {"source": "cmdb", "id": ext_id}, **fields}
