"""Every list answers in the same number of queries at 5 and at 50 rows."""

import pytest
from django.urls import reverse

from products.models import ExternalId, LifecycleTransition
from tests.api.conftest import client_for
from tests.portfolio.factories import ClusterFactory, PersonFactory, TeamFactory, UserFactory
from tests.products.factories import ProductFactory


def products(n: int, world: dict) -> None:
    team = TeamFactory()
    cluster = ClusterFactory(owner=PersonFactory())
    previous = None
    start = world.setdefault("made", 0)
    world["made"] += n
    for i in range(start, start + n):
        p = ProductFactory(team=team, owner=PersonFactory(), cluster=cluster if i % 2 else None)
        ExternalId.objects.create(product=p, source="cmdb", external_id=f"Q-{i}")
        ExternalId.objects.create(product=p, source="jira", external_id=f"J-{i}")
        if previous is not None:
            p.dependencies.add(previous)
        previous = p


def clusters(n: int, world: dict) -> None:
    for _ in range(n):
        cluster = ClusterFactory(owner=PersonFactory())
        ProductFactory(cluster=cluster, owner=None)
        ProductFactory(cluster=cluster, owner=None)


def people(n: int, world: dict) -> None:
    for _ in range(n):
        person = PersonFactory(user=UserFactory())
        ProductFactory(owner=person)


def teams(n: int, world: dict) -> None:
    members = PersonFactory.create_batch(3)
    for _ in range(n):
        TeamFactory(members=members)


def units(n: int, world: dict) -> None:
    for i in range(n):
        if i % 2:
            ClusterFactory(owner=PersonFactory())
        else:
            ProductFactory(owner=PersonFactory())


def transitions(n: int, world: dict) -> None:
    product = world["product"]
    actor = UserFactory()
    for _ in range(n):
        LifecycleTransition.objects.create(
            product=product, from_stage="growth", to_stage="maturity", actor=actor
        )


# (route, builder, kwargs, queries): the count is pagination's COUNT, the rows, then one per
# prefetched relation.
LISTS = [
    ("api-product-list", products, None, 4),  # count, rows, external ids, dependencies
    ("api-cluster-list", clusters, None, 3),  # count, rows, unit products
    ("api-person-list", people, None, 2),  # count, rows (user joined, units counted)
    ("api-team-list", teams, None, 3),  # count, rows, members
    ("api-unit-list", units, None, 3),  # count, rows, products
    ("api-product-transitions", transitions, "product", 3),  # product, count, rows
]


@pytest.mark.django_db
@pytest.mark.parametrize("name, build, kwarg, queries", LISTS, ids=[x[0] for x in LISTS])
def test_list_query_count_is_flat(name, build, kwarg, queries, viewer, django_assert_num_queries):
    world = {"product": ProductFactory(owner=None)}
    url = reverse(name, args=[world[kwarg].pk] if kwarg else [])
    client = client_for(viewer)
    seen = []
    for n in (5, 50):
        build(n - len(seen), world)
        seen.extend([None] * (n - len(seen)))
        with django_assert_num_queries(queries):
            response = client.get(url, {"page_size": 100})
        assert response.status_code == 200
        assert response.json()["count"] >= n
