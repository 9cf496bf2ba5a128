import pytest
from rest_framework.test import APIClient

from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytest_plugins = ["tests.worker"]


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", leader=True)


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer")


@pytest.fixture
def owner_person(db):
    return PersonFactory(name="Olivia Owner", user=UserFactory(username="owner"))


@pytest.fixture
def owner(owner_person):
    return owner_person.user


@pytest.fixture
def other_owner_person(db):
    return PersonFactory(name="Oscar Other", user=UserFactory(username="other"))


@pytest.fixture
def other_owner(other_owner_person):
    return other_owner_person.user


@pytest.fixture
def product(owner_person):
    """A product in its own unit, owned by `owner`."""
    return ProductFactory(name="Payroll", slug="payroll", owner=owner_person)


@pytest.fixture
def other_product(other_owner_person):
    return ProductFactory(name="Intranet", slug="intranet", owner=other_owner_person)


@pytest.fixture
def cluster(owner_person):
    return ClusterFactory(
        name="Employee experience", slug="employee-experience", owner=owner_person
    )


@pytest.fixture
def api(db):
    return APIClient()


def api_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache, so query counts do not depend on test order."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _broker_not_marked_down():
    """A test that made a publish fail must not leave the next one skipping the broker."""
    from portfolio import outbox

    outbox._broker_down_until = 0.0
    yield
    outbox._broker_down_until = 0.0
