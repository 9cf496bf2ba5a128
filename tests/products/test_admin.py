"""The catalogue admin shows records and their past versions but never writes them: catalogue
writes carry rules and history, so they go through products/services.py."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from products.models import Cluster, Person, Product, Stage, Team
from products.services import product_update
from tests.portfolio.factories import ClusterFactory, PersonFactory, TeamFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pass-word-123")
    client.force_login(user)
    return client


CATALOGUE = [
    ("product", Product, lambda: ProductFactory(name="Shown in the admin")),
    ("person", Person, lambda: PersonFactory(name="Shown in the admin")),
    ("team", Team, lambda: TeamFactory(name="Shown in the admin")),
    ("cluster", Cluster, lambda: ClusterFactory(name="Shown in the admin")),
]


@pytest.mark.parametrize("name, model, build", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_the_catalogue_admin_lists_and_shows_but_refuses_changes(
    superuser_client, name, model, build
):
    record = build()
    change_url = reverse(f"admin:products_{name}_change", args=[record.pk])

    listed = superuser_client.get(reverse(f"admin:products_{name}_changelist"))
    shown = superuser_client.get(change_url)
    posted = superuser_client.post(change_url, {"name": "Renamed in the admin"})
    added = superuser_client.get(reverse(f"admin:products_{name}_add"))
    deleted = superuser_client.post(
        reverse(f"admin:products_{name}_delete", args=[record.pk]), {"post": "yes"}
    )

    assert b"Shown in the admin" in listed.content
    assert b"Shown in the admin" in shown.content and b'name="_save"' not in shown.content
    assert posted.status_code == 403
    assert added.status_code == 403
    assert deleted.status_code == 403
    assert model.objects.get(pk=record.pk).name == "Shown in the admin"


def test_a_past_version_is_shown_but_cannot_be_posted_back(superuser_client, leader, product):
    # given a product renamed through the service, and its first version in the history
    first = product.history.earliest()
    product_update(actor=leader, product=product, name="Payroll and pensions")
    url = reverse("admin:products_product_simple_history", args=[product.pk, first.history_id])
    versions = product.history.count()

    # when a superuser opens that version, and posts a "revert" that also moves the stage
    shown = superuser_client.get(url)
    form = shown.context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k in form.fields}
    data.update(
        name="Reverted in the admin",
        lifecycle_stage=Stage.INTRODUCTION,
        unit=product.unit_id,
        dependencies=[],
    )
    posted = superuser_client.post(url, data)

    # then the version is shown without a revert button, and the post changes nothing
    assert shown.status_code == 200
    assert b"Payroll" in shown.content and b'name="_save"' not in shown.content
    assert posted.status_code == 403
    stored = Product.objects.get(pk=product.pk)
    assert stored.name == "Payroll and pensions"
    assert stored.lifecycle_stage == Stage.MATURITY
    assert stored.history.count() == versions
