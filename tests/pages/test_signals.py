"""Split signal pages: the evidence in full, the guided split and the dismissal (leaders only),
and the list behind the dashboard's signal count."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import SignalKind, SignalStatus, SplitSignal
from products.models import Product
from tests.pages.conftest import HTMX
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal(owner_person, cluster):
    """Billing, flagged strategic, in the cluster `Employee experience` beside Onboarding."""
    ProductFactory(
        name="Billing", slug="billing", owner=owner_person, cluster=cluster, strategic=True
    )
    ProductFactory(name="Onboarding", slug="onboarding", owner=owner_person, cluster=cluster)
    run_snapshot()
    return SplitSignal.objects.get(kind=SignalKind.STRATEGIC)


def test_signal_page_shows_the_evidence_and_the_members(viewer_client, signal):
    html = viewer_client.get(reverse("split-signal", args=[signal.pk])).content.decode()
    assert "Strategic significance: Billing" in html
    assert "Billing is flagged strategic" in html
    members = html.split("Members of Employee experience")[1].split("</table>")[0]
    assert "Billing" in members and "Onboarding" in members
    assert "split-form" not in html  # viewers read only
    assert "A portfolio leader decides" in html


def test_crowding_and_dominance_evidence_in_words(viewer_client, cluster):
    product = ProductFactory(name="Payroll", cluster=cluster)
    crowding = SplitSignal.objects.create(
        cluster=cluster,
        kind=SignalKind.CROWDING,
        product=product,
        opened_at=timezone.now(),
        evidence={
            "member": "Payroll",
            "estimate_share_pct": 72.5,
            "top_share_pct": 80.0,
            "top_items": 20,
            "threshold_pct": 60.0,
            "idle_days": 90,
            "idle_members": ["Leave", "Onboarding"],
            "weeks_seen": 3,
            "weeks_window": 4,
            "weeks_required": 3,
        },
    )
    html = viewer_client.get(reverse("split-signal", args=[crowding.pk])).content.decode()
    assert "Payroll holds 72.5% of the cluster&#x27;s open estimate and 80.0%" in html
    assert "Leave and Onboarding have finished nothing in 90 days." in html
    assert "Seen in 3 of the last 4 weekly snapshots (3 needed)." in html
    dominance = SplitSignal.objects.create(
        cluster=cluster,
        kind=SignalKind.DOMINANCE,
        product=product,
        opened_at=timezone.now(),
        evidence={
            "member": "Payroll",
            "share_pct": 75.0,
            "threshold_pct": 66.7,
            "fair_share_pct": 33.3,
            "effort_days": 15,
            "total_days": 20,
            "items": 6,
            "window_days": 90,
        },
    )
    html = viewer_client.get(reverse("split-signal", args=[dominance.pk])).content.decode()
    assert "took 75.0% of the cluster&#x27;s operations and support effort" in html
    assert "the line is 66.7% (a fair share is 33.3%)" in html
    assert "15 of 20 effort days, over 6 finished items." in html


def test_leader_splits_the_member_out(leader_client, signal, other_owner_person):
    page = leader_client.get(reverse("split-signal", args=[signal.pk])).content.decode()
    assert f'<option value="{signal.product_id}" selected>Billing</option>' in page
    response = leader_client.post(
        reverse("split-signal-split", args=[signal.pk]),
        {"new_owner": other_owner_person.pk, "note": "Needs its own owner"},
    )
    billing = Product.objects.select_related("unit").get(slug="billing")
    assert response.status_code == 302
    assert response["Location"] == billing.get_absolute_url()
    assert billing.unit.cluster_id is None and billing.unit.owner == other_owner_person
    signal.refresh_from_db()
    assert signal.status == SignalStatus.SPLIT
    product_page = leader_client.get(response["Location"]).content.decode()
    assert "Billing left Employee experience and is now owned by Oscar Other" in product_page
    html = leader_client.get(reverse("split-signal", args=[signal.pk])).content.decode()
    assert "Split out</strong> on" in html and "now owned by" in html and "Oscar Other" in html
    assert billing.get_absolute_url() in html
    assert "split-form" not in html


def test_split_without_a_new_owner_shows_the_error(leader_client, signal):
    response = leader_client.post(
        reverse("split-signal-split", args=[signal.pk]), {"new_owner": ""}, headers=HTMX
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.lstrip().startswith('<form method="post"')
    assert "Name the person who will own it on its own." in html
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


@pytest.mark.parametrize("who", ["viewer_client", "owner_client"])
def test_only_leaders_split_or_dismiss(who, request, signal, other_owner_person):
    client = request.getfixturevalue(who)
    split = client.post(
        reverse("split-signal-split", args=[signal.pk]), {"new_owner": other_owner_person.pk}
    )
    dismiss = client.post(reverse("split-signal-dismiss", args=[signal.pk]), {"note": "No"})
    assert (split.status_code, dismiss.status_code) == (403, 403)
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
    assert Product.objects.get(slug="billing").unit.cluster_id == signal.cluster_id


def test_dismiss_needs_a_note(leader_client, signal):
    url = reverse("split-signal-dismiss", args=[signal.pk])
    response = leader_client.post(url, {"note": "  "}, headers=HTMX)
    assert response.status_code == 400
    assert "Say why the member stays in the cluster." in response.content.decode()
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
    response = leader_client.post(url, {"note": "Billing shares every user with Onboarding"})
    assert response.status_code == 302
    signal.refresh_from_db()
    assert signal.status == SignalStatus.DISMISSED
    html = leader_client.get(response["Location"]).content.decode()
    assert "Dismissed</strong> on" in html and "Billing shares every user" in html


def test_acting_on_a_closed_signal_is_a_conflict(leader_client, signal, other_owner_person):
    leader_client.post(reverse("split-signal-dismiss", args=[signal.pk]), {"note": "Keep"})
    response = leader_client.post(
        reverse("split-signal-split", args=[signal.pk]),
        {"new_owner": other_owner_person.pk},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert "only open signals can be acted on" in response.content.decode()


def test_signal_list_shows_open_by_default_and_filters(viewer_client, signal):
    other = ClusterFactory(name="Other", slug="other", owner=PersonFactory())
    closed = SplitSignal.objects.create(
        cluster=other,
        kind=SignalKind.STRATEGIC,
        product=ProductFactory(name="Quiet", cluster=other),
        opened_at=timezone.now(),
        status=SignalStatus.CLEARED,
        closed_at=timezone.now(),
    )
    html = viewer_client.get(reverse("split-signal-list")).content.decode()
    assert "1 signal (open)" in html and "Billing" in html and "Quiet" not in html
    html = viewer_client.get(reverse("split-signal-list") + "?status=all").content.decode()
    assert "2 signals" in html and closed.get_absolute_url() in html
    html = viewer_client.get(
        reverse("split-signal-list") + "?status=all&cluster=other", headers=HTMX
    ).content.decode()
    assert "1 signal" in html and "Quiet" in html and "Billing" not in html


@pytest.mark.parametrize("extra", [0, 15])
def test_signal_list_query_count_is_fixed(extra, viewer_client, django_assert_num_queries):
    for i in range(extra + 1):
        cluster = ClusterFactory(owner=PersonFactory())
        SplitSignal.objects.create(
            cluster=cluster,
            kind=SignalKind.STRATEGIC,
            product=ProductFactory(cluster=cluster),
            opened_at=timezone.now(),
            evidence={"member": f"M{i}", "reasons": ["flagged strategic"]},
        )
    with django_assert_num_queries(6):
        assert viewer_client.get(reverse("split-signal-list")).status_code == 200


def test_split_form_offers_every_member_and_splits_the_one_picked(client, leader):
    from analytics.compute import run_snapshot
    from analytics.models import SplitSignal
    from tests.portfolio.factories import ClusterFactory, PersonFactory
    from tests.products.factories import ProductFactory

    cluster = ClusterFactory(owner=PersonFactory(), name="Finance")
    ProductFactory(cluster=cluster, strategic=True, name="Ledger")
    idle = ProductFactory(cluster=cluster, name="Archive")
    new_owner = PersonFactory(name="Nora New")
    run_snapshot()
    signal = SplitSignal.objects.get()
    client.force_login(leader)
    page = client.get(f"/signals/{signal.pk}/").content.decode()
    assert "Member leaving the cluster" in page
    assert ">Archive</option>" in page and "Ledger</option>" in page
    response = client.post(
        f"/signals/{signal.pk}/split/", {"product": idle.pk, "new_owner": new_owner.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == idle.get_absolute_url()
    idle.refresh_from_db()
    assert idle.unit.owner == new_owner and idle.unit.cluster_id is None
    signal.refresh_from_db()
    assert signal.split_product == idle
