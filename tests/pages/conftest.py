import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from products.models import ClusterReason, LifecycleTransition, Stage
from tests.portfolio.factories import ClusterFactory, PersonFactory, TeamFactory, UserFactory
from tests.products.factories import ExternalIdFactory, ProductFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def client_as(db):
    """A test client logged in as `user` (None: anonymous)."""

    def make(user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def leader_client(client_as, leader):
    return client_as(leader)


@pytest.fixture
def owner_client(client_as, owner):
    return client_as(owner)


@pytest.fixture
def viewer_client(client_as, viewer):
    return client_as(viewer)


@pytest.fixture
def departed_person(db):
    return PersonFactory(
        name="Dora Departed", active=False, departed_on=timezone.localdate() - dt.timedelta(days=3)
    )


@pytest.fixture
def portfolio_of(db):
    """Build `n` products that touch every column of the list: owners (some departed, some
    with a disabled login, some missing), clusters, teams, external ids and stages."""

    def make(n: int) -> list:
        owners = [
            PersonFactory(name="Ada Active"),
            PersonFactory(name="Dan Departed", active=False, departed_on="2026-01-31"),
            PersonFactory(name="Lou Locked", user=UserFactory(is_active=False)),
            None,
        ]
        clusters = [
            ClusterFactory(name="Finance", owner=owners[0]),
            ClusterFactory(name="Unreasoned", owner=owners[1], reasons=[]),
        ]
        teams = [TeamFactory(members=[owners[0]]), TeamFactory(members=[owners[2]])]
        stages = [Stage.INTRODUCTION, Stage.GROWTH, Stage.MATURITY, Stage.RETIREMENT]
        products = []
        for i in range(n):
            product = ProductFactory(
                name=f"Product {i:03d}",
                owner=owners[i % 4],
                cluster=clusters[i % 2] if i % 3 == 0 else None,
                team=teams[i % 2],
                lifecycle_stage=stages[i % 4],
            )
            ExternalIdFactory(product=product)
            products.append(product)
        return products

    return make


@pytest.fixture
def clusters_of(db):
    def make(n: int) -> list:
        people = [PersonFactory(), PersonFactory(active=False, departed_on="2026-01-31")]
        clusters = []
        for i in range(n):
            cluster = ClusterFactory(
                owner=people[i % 2],
                reasons=[] if i % 2 else [ClusterReason.SAME_USERS, ClusterReason.SAME_DOMAIN],
            )
            ProductFactory(cluster=cluster, owner=people[0])
            clusters.append(cluster)
        return clusters

    return make


def transitions_for(product, n: int) -> None:
    LifecycleTransition.objects.bulk_create(
        LifecycleTransition(
            product=product, from_stage=Stage.GROWTH, to_stage=Stage.MATURITY, reason=f"Move {i}"
        )
        for i in range(n)
    )
