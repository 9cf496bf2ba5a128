"""My work and home by role: `/` sends leaders to the dashboard, owners to My work and
everyone else to the product list; My work shows the signed-in owner's units, backlog tops,
metrics needing attention, reviews, action items, requests and what changed on their products
since the visit before, at a query count that does not grow with the number of units."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PageVisit
from backlog import services as backlog_services
from funding.models import InvestmentRequest, RequestStatus
from portfolio import events
from products.models import Dimension
from reviews import services as review_services
from reviews.models import Review
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def section(html: str, name: str) -> str:
    return html.split(f'id="{name}"')[1].split("</section>")[0]


# --- home by role --------------------------------------------------------------------------


def test_home_sends_each_role_to_its_page(client_as, leader, owner, viewer, product):
    assert client_as(leader).get(reverse("home"))["Location"] == reverse("dashboard")
    assert client_as(owner).get(reverse("home"))["Location"] == reverse("my-work")
    assert client_as(viewer).get(reverse("home"))["Location"] == reverse("product-list")


def test_a_leader_who_owns_units_still_lands_on_the_dashboard(client_as, leader, db):
    from tests.portfolio.factories import PersonFactory

    ProductFactory(owner=PersonFactory(user=leader))
    assert client_as(leader).get(reverse("home"))["Location"] == reverse("dashboard")


def test_an_owner_of_a_dormant_unit_only_is_a_viewer(client_as, owner, owner_person, cluster):
    # A product that joined a cluster owned by someone else leaves its own unit dormant.
    ProductFactory(owner=owner_person, cluster=ClusterFactory(owner=None))
    cluster.unit.owner = None
    cluster.unit.save()
    assert client_as(owner).get(reverse("home"))["Location"] == reverse("product-list")


def test_the_nav_links_my_work(viewer_client):
    html = viewer_client.get(reverse("product-list")).content.decode()
    assert f'href="{reverse("my-work")}"' in html


# --- the page --------------------------------------------------------------------------------


@pytest.fixture
def owned(owner, owner_person, other_owner_person):
    """Olivia owns Payroll (maturity) and the People cluster (two in growth, one in maturity)
    with a backlog of seven open items; Oscar owns Intranet."""
    payroll = ProductFactory(name="Payroll", slug="payroll", owner=owner_person)
    people = ClusterFactory(name="People", slug="people", owner=owner_person)
    leave = ProductFactory(
        name="Leave", owner=owner_person, cluster=people, lifecycle_stage="growth"
    )
    ProductFactory(name="Onboard", owner=owner_person, cluster=people, lifecycle_stage="growth")
    ProductFactory(name="Badges", owner=owner_person, cluster=people)
    intranet = ProductFactory(name="Intranet", slug="intranet", owner=other_owner_person)
    for i in range(7):
        backlog_services.backlog_item_create(actor=owner, product=leave, title=f"People item {i}")
    return {"payroll": payroll, "people": people, "leave": leave, "intranet": intranet}


def test_my_units_with_stage_health_and_top_of_backlog(owner_client, owned):
    now = timezone.now()
    MetricFactory(product=owned["payroll"], last_value=98.0, last_read_at=now)  # red
    html = owner_client.get(reverse("my-work")).content.decode()
    units = section(html, "my-units")
    payroll = units.split(">Payroll</a>")[1].split("</tr>")[0]
    assert "stage-maturity" in payroll and "health-red" in payroll
    assert "No open item." in payroll
    people = units.split(">People</a>")[1].split("</tr>")[0]
    assert "stage-growth" in people  # two of its three members are in growth
    assert "People item 0" in people and "People item 4" in people
    assert "People item 5" not in people  # only the top five
    assert (
        f'href="{reverse("backlog-detail", args=[owned["people"].unit.pk])}">Backlog (7 open)'
        in people
    )
    assert "Intranet" not in html


def test_metrics_needing_attention_and_missing_dimensions(owner_client, owned):
    now = timezone.now()
    MetricFactory(product=owned["payroll"], name="Availability", last_value=98.0, last_read_at=now)
    MetricFactory(
        product=owned["payroll"], name="Payslip errors", dimension=Dimension.SUPPORT
    )  # no data
    MetricFactory(product=owned["payroll"], name="All fine", last_value=99.95, last_read_at=now)
    MetricFactory(
        product=owned["intranet"], name="Intranet uptime", last_value=1.0, last_read_at=now
    )
    metrics = section(owner_client.get(reverse("my-work")).content.decode(), "my-metrics")
    assert "Availability" in metrics and "health-red" in metrics
    assert "Payslip errors" in metrics
    assert "All fine" not in metrics and "Intranet uptime" not in metrics
    assert metrics.index("Availability") < metrics.index("Payslip errors")  # worst first
    gaps = metrics.split("Metric coverage to complete")[1]
    assert ">Leave</a>: Add 3 more metrics" in gaps


def test_next_reviews_and_open_action_items(owner_client, owner, leader, owned, owner_person):
    review_services.cycle_schedule(actor=leader, year=2030, quarter=1)
    mine = Review.objects.get(unit=owned["payroll"].unit)
    review_services.action_item_create(actor=owner, review=mine, title="Write the runbook")
    done = review_services.action_item_create(actor=owner, review=mine, title="Already done")
    review_services.action_item_set_done(actor=owner, item=done, done=True)
    html = owner_client.get(reverse("my-work")).content.decode()
    reviews = section(html, "my-reviews")
    assert "Q1 2030: Payroll" in reviews and "Q1 2030: People" in reviews
    assert "Intranet" not in reviews
    actions = section(html, "my-actions")
    assert "Write the runbook" in actions and "Already done" not in actions


def test_investment_requests_and_their_state(owner_client, owned):
    for purpose, status in [
        ("Faster payslips", RequestStatus.SUBMITTED),
        ("New portal", RequestStatus.APPROVED),
    ]:
        InvestmentRequest.objects.create(
            unit=owned["payroll"].unit,
            product=owned["payroll"],
            fiscal_year=2030,
            amount=Decimal("1000"),
            purpose=purpose,
            status=status,
        )
    requests = section(owner_client.get(reverse("my-work")).content.decode(), "my-requests")
    faster = requests.split("Faster payslips")[1].split("</tr>")[0]
    assert "Waiting for a leader" in faster
    assert "Approved" in requests.split("New portal")[1].split("</tr>")[0]


def test_changes_since_the_visit_before(owner_client, owner, other_owner, leader, owned):
    first = section(owner_client.get(reverse("my-work")).content.decode(), "my-changes")
    assert "This is your first visit" in first
    PageVisit.objects.filter(user=owner).update(seen_at=timezone.now() - dt.timedelta(hours=1))
    backlog_services.backlog_item_create(
        actor=leader, product=owned["payroll"], title="Fix payslip PDF"
    )
    events.record("product.updated", owned["leave"], actor=leader)
    backlog_services.backlog_item_create(
        actor=other_owner, product=owned["intranet"], title="Not mine"
    )
    changes = section(owner_client.get(reverse("my-work")).content.decode(), "my-changes")
    assert "Fix payslip PDF" in changes and "An item was added to a backlog." in changes
    assert "Leave" in changes and "by leader" in changes
    assert "Not mine" not in changes
    # Seen now: the next visit starts from here.
    again = section(owner_client.get(reverse("my-work")).content.decode(), "my-changes")
    assert "Nothing changed on your products since" in again


def test_a_leader_without_units_is_told_what_my_work_is(leader_client):
    html = leader_client.get(reverse("my-work")).content.decode()
    empty = section(html, "my-work-empty")
    assert "You own nothing yet" in empty and reverse("dashboard") in empty
    assert 'id="my-units"' not in html


def test_a_viewer_sees_the_empty_state_and_the_product_list_link(viewer_client):
    empty = section(viewer_client.get(reverse("my-work")).content.decode(), "my-work-empty")
    assert reverse("product-list") in empty


@pytest.mark.parametrize("units", [1, 6])
def test_query_count_does_not_grow_with_units(
    units, owner_client, owner, owner_person, leader, django_assert_num_queries
):
    for i in range(units):
        cluster = ClusterFactory(owner=owner_person)
        member = ProductFactory(owner=owner_person, cluster=cluster)
        ProductFactory(owner=owner_person, cluster=cluster, lifecycle_stage="growth")
        lone = ProductFactory(owner=owner_person)
        MetricFactory(product=member, last_value=98.0, last_read_at=timezone.now())
        backlog_services.backlog_item_create(actor=owner, product=member, title=f"Item {i}")
        InvestmentRequest.objects.create(
            unit=lone.unit, product=lone, fiscal_year=2030, amount=Decimal("5"), purpose="More"
        )
    review_services.cycle_schedule(actor=leader, year=2030, quarter=1)
    owner_client.get(reverse("my-work"))  # a first visit, so the changes are read too
    with django_assert_num_queries(MY_WORK_QUERIES):
        response = owner_client.get(reverse("my-work"))
    assert response.status_code == 200
    assert response.content.decode().count("Item ") >= units


# Session, login, the visit read and upsert (in a savepoint: 4), units, their members, backlog
# tops, open counts, metrics, settings, coverage, reviews, action items, requests, changes and
# the leader check: the same whatever the number of units.
MY_WORK_QUERIES = 18
