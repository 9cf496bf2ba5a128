"""A product joining a cluster while a leader dissolves it: never a dangling unit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from portfolio.errors import ValidationFailed
from products.models import OwnershipUnit, Product
from products.services import cluster_delete, product_set_cluster
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory


@pytest.mark.django_db(transaction=True)
def test_join_and_dissolve_at_once_leave_every_product_in_a_real_unit():
    leader = UserFactory(username="lead", leader=True)
    owner = PersonFactory()
    outcomes = []
    for _ in range(4):
        cluster = ClusterFactory(owner=owner)
        ProductFactory(cluster=cluster)
        joiner = ProductFactory(owner=owner)
        barrier = threading.Barrier(2)

        def join(product=joiner, target=cluster, barrier=barrier):
            try:
                barrier.wait()
                product_set_cluster(actor=leader, product=product, cluster=target)
                outcomes.append("joined")
            except ValidationFailed as exc:
                assert "no longer exists" in exc.errors["cluster"][0]
                outcomes.append("refused")
            finally:
                connection.close()

        def dissolve(target=cluster, barrier=barrier):
            try:
                barrier.wait()
                cluster_delete(actor=leader, cluster=target)
            finally:
                connection.close()

        threads = [threading.Thread(target=join), threading.Thread(target=dissolve)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        joiner.refresh_from_db()
        unit = OwnershipUnit.objects.get(pk=joiner.unit_id)
        assert unit.kind == "product" and unit.is_active
    assert len(outcomes) == 4
    assert not Product.objects.filter(unit__isnull=True).exists()
