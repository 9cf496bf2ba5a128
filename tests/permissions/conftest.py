import pytest

from tests.permissions.spec import World
from tests.portfolio.factories import ClusterFactory, PersonFactory, TeamFactory, UserFactory
from tests.products.factories import ProductFactory


@pytest.fixture
def world(db) -> World:
    owner_person = PersonFactory(name="Olivia Owner", user=UserFactory(username="owner"))
    other_person = PersonFactory(name="Oscar Other", user=UserFactory(username="other"))
    cluster = ClusterFactory(
        name="Employee experience", slug="employee-experience", owner=owner_person
    )
    departed = PersonFactory(name="Dora Departed", active=False, departed_on="2026-01-31")
    return World(
        leader=UserFactory(username="leader", leader=True),
        viewer=UserFactory(username="viewer"),
        owner=owner_person.user,
        owner_person=owner_person,
        other_owner=other_person.user,
        other_owner_person=other_person,
        product=ProductFactory(name="Payroll", slug="payroll", owner=owner_person),
        cluster=cluster,
        clustered=ProductFactory(
            name="Onboarding", slug="onboarding", cluster=cluster, owner=owner_person
        ),
        other_product=ProductFactory(name="Intranet", slug="intranet", owner=other_person),
        team=TeamFactory(name="People systems", slug="people-systems", members=[owner_person]),
        departed_person=departed,
    )
