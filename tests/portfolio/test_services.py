import pytest

from portfolio.errors import Forbidden, ValidationFailed
from portfolio.models import PortfolioSettings
from portfolio.services import portfolio_settings_update
from products.models import Cluster, Person, UnitKind
from products.services import (
    cluster_create,
    cluster_delete,
    cluster_update,
    person_create,
    person_depart,
    person_update,
)
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_cluster_gets_its_unit_and_is_flagged_without_reason(leader, owner_person):
    cluster = cluster_create(actor=leader, name="Misc small things", owner=owner_person)

    assert cluster.unit.kind == UnitKind.CLUSTER
    assert cluster.unit.owner == owner_person
    assert cluster.has_reason is False
    assert list(Cluster.objects.without_reason()) == [cluster]


def test_cluster_reasons_are_validated(leader):
    with pytest.raises(ValidationFailed) as exc:
        cluster_create(actor=leader, name="Odd", reasons=["they_are_small"])
    assert "reasons" in exc.value.errors
    assert not Cluster.objects.exists()


def test_owner_describes_their_cluster_but_cannot_rename_it(owner, cluster):
    cluster_update(actor=owner, cluster=cluster, description="Everything staff touch daily")
    cluster.refresh_from_db()
    assert cluster.description == "Everything staff touch daily"
    with pytest.raises(Forbidden):
        cluster_update(actor=owner, cluster=cluster, name="Renamed")


def test_dissolving_a_cluster_gives_members_their_own_units(leader, cluster, owner_person):
    a = ProductFactory(cluster=cluster, owner=None)
    b = ProductFactory(cluster=cluster, owner=None)

    cluster_delete(actor=leader, cluster=cluster)

    for product in (a, b):
        product.refresh_from_db()
        assert product.unit.kind == UnitKind.PRODUCT
        assert product.unit.is_active
        assert product.owner == owner_person


def test_departure_leaves_units_without_accountable_owner(leader, product, owner_person):
    person_depart(actor=leader, person=owner_person)

    owner_person.refresh_from_db()
    assert owner_person.active is False
    assert owner_person.departed_on is not None
    assert not product.unit.__class__.objects.get(pk=product.unit.pk).has_accountable_owner
    assert owner_person not in Person.objects.accountable()


def test_people_are_for_leaders(owner):
    with pytest.raises(Forbidden):
        person_create(actor=owner, name="X", email="x@example.org")


def test_person_email_is_validated(leader):
    with pytest.raises(ValidationFailed) as exc:
        person_create(actor=leader, name="X", email="not-an-email")
    assert "email" in exc.value.errors


def test_settings_are_validated_and_leader_only(leader, owner):
    with pytest.raises(Forbidden):
        portfolio_settings_update(actor=owner, max_active_units=2)
    with pytest.raises(ValidationFailed) as exc:
        portfolio_settings_update(actor=leader, crowding_share_pct=150)
    assert "crowding_share_pct" in exc.value.errors
    portfolio_settings_update(actor=leader, max_stable_units=2)
    assert PortfolioSettings.load().max_stable_units == 2


def test_departure_dispatches_the_notice_only_after_commit(
    leader, product, owner_person, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        person_depart(actor=leader, person=owner_person)

    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    assert "Payroll" in mailoutbox[0].body
    assert mailoutbox[0].to == [leader.email]


def test_editing_a_departed_person_again_sends_no_second_notice(
    leader, owner_person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as first:
        person_depart(actor=leader, person=owner_person)
    with django_capture_on_commit_callbacks(execute=False) as second:
        person_update(actor=leader, person=owner_person, title="Former owner")
    assert len(first) == 1
    assert second == []
