import pytest

from tests.portfolio.factories import ClusterFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_product_in_cluster_is_owned_through_the_cluster(owner_person, other_owner_person):
    cluster = ClusterFactory(owner=owner_person)
    product = ProductFactory(owner=other_owner_person, cluster=cluster)
    assert product.cluster == cluster
    assert product.owner == owner_person
    assert product.own_unit.is_active is False
    assert product.own_unit.owner == other_owner_person
