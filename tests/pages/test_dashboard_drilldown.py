"""Every number on the dashboard that links somewhere opens a list of exactly that many rows.

The portfolio has clusters with several members in different stages, an owner over the
ceiling, an orphan product, split signals and metrics in every status, so a figure that counts
one thing (units) while its link lists another (products) shows up as a difference."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.compute import run_snapshot
from analytics.models import SignalKind, SignalStatus, SplitSignal
from funding.models import InvestmentRequest, RequestStatus
from funding.services import current_fiscal_year
from tests.metrics.factories import MetricFactory
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a\s[^>]*href="([^"]+)"[^>]*data-count="(\d+)"')
LIST_TOTAL = re.compile(r'<p class="count">(\d+) ')


@pytest.fixture
def portfolio(db):
    ada = PersonFactory(name="Ada Many")
    ben = PersonFactory(name="Ben Cluster")
    cy = PersonFactory(name="Cy Left", active=False, departed_on="2026-01-31")
    finance = ClusterFactory(name="Finance", slug="finance", owner=ben)
    people = ClusterFactory(name="People", slug="people", owner=ada)
    # Finance: three products in maturity, one in growth (the cluster counts as one unit).
    billing = ProductFactory(name="Billing", owner=ben, cluster=finance, strategic=True)
    for name in ("Invoices", "Ledger"):
        ProductFactory(name=name, owner=ben, cluster=finance)
    ProductFactory(name="Forecast", owner=ben, cluster=finance, lifecycle_stage="growth")
    # People: two maturity, one introduction.
    payroll = ProductFactory(name="Payroll", owner=ada, cluster=people)
    ProductFactory(name="Leave", owner=ada, cluster=people)
    ProductFactory(name="Onboard", owner=ada, cluster=people, lifecycle_stage="introduction")
    for name in ("Atlas", "Beacon", "Canvas"):
        ProductFactory(name=name, owner=ada, lifecycle_stage="growth")
    ProductFactory(name="Old Fax", owner=cy, lifecycle_stage="retirement")
    ProductFactory(name="Nobody's", owner=None)
    now = timezone.now()
    MetricFactory(product=billing, last_value=98.0, last_read_at=now)  # red
    MetricFactory(product=billing, last_value=99.95, last_read_at=now)  # green
    MetricFactory(product=payroll)  # no data
    SplitSignal.objects.create(
        cluster=finance,
        product=billing,
        kind=SignalKind.STRATEGIC,
        status=SignalStatus.OPEN,
        opened_at=now,
    )
    year = current_fiscal_year()
    for product, amount, status in [
        (billing, "900", RequestStatus.APPROVED),
        (billing, "100", RequestStatus.APPROVED),
        (payroll, "50", RequestStatus.SUBMITTED),
        (payroll, "70", RequestStatus.REJECTED),
    ]:
        InvestmentRequest.objects.create(
            unit=product.unit,
            product=product,
            fiscal_year=year,
            amount=amount,
            purpose="More",
            status=status,
        )
    return {"ada": ada, "finance": finance}


def numbered_links(html: str) -> list[tuple[str, int]]:
    return [(unescape(href), int(n)) for href, n in LINK.findall(html)]


def list_total(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    found = LIST_TOTAL.search(response.content.decode())
    assert found, f"{url} shows no total"
    return int(found.group(1))


def check_every_link(client, query: str = "") -> list[tuple[str, int]]:
    html = client.get(reverse("dashboard") + query).content.decode()
    links = numbered_links(html)
    wrong = [(url, n, list_total(client, url)) for url, n in links]
    assert [w for w in wrong if w[1] != w[2]] == []
    return links


def test_every_numbered_link_opens_a_list_of_that_many_rows(leader_client, portfolio):
    run_snapshot()
    links = check_every_link(leader_client)
    counts = dict(links)
    stage_links = {u: n for u, n in links if "stage=" in u and "/products/" in u}
    # Maturity: Billing, Invoices, Ledger, Payroll, Leave and Nobody's (not the 2 units).
    assert stage_links[reverse("product-list") + "?stage=maturity"] == 6
    assert counts[reverse("product-list") + "?owner=none"] == 2  # Old Fax and Nobody's
    assert any("/signals/" in u for u in counts)
    assert any("/metrics/" in u for u in counts)
    assert any("/analytics/owners/" in u for u in counts)


def test_the_funding_panel_counts_the_requests_its_links_list(leader_client, portfolio):
    html = leader_client.get(reverse("funding-summary"), headers={"HX-Request": "true"})
    links = numbered_links(html.content.decode())
    assert sorted(n for _, n in links) == [1, 2]  # one waiting, two approved
    for url, n in links:
        assert list_total(leader_client, url) == n, url


@pytest.mark.parametrize("query", ["?cluster=finance", "?stage=growth", "owner"])
def test_every_numbered_link_agrees_under_a_filter(leader_client, portfolio, query):
    run_snapshot()
    if query == "owner":
        query = f"?owner={portfolio['ada'].pk}"
    links = check_every_link(leader_client, query)
    assert links


def test_metric_figures_stay_true_after_the_snapshot(leader_client, portfolio):
    # A metric defined after the run: the health figures are live, like the list they open.
    run_snapshot()
    MetricFactory(product=portfolio["finance"].unit.products.first())  # no data
    html = leader_client.get(reverse("dashboard")).content.decode()
    no_data = [n for url, n in numbered_links(html) if url.endswith("status=no_data")]
    assert no_data == [2]
    check_every_link(leader_client)


def test_all_owners_over_the_ceiling_link_lists_them_all(leader_client, db):
    # Sixteen owners with two active units each (triaging), one more than the panel shows.
    for i in range(16):
        person = PersonFactory(name=f"Busy {i:02d}")
        for _ in range(2):
            ProductFactory(owner=person, lifecycle_stage="growth")
    run_snapshot()
    html = leader_client.get(reverse("dashboard")).content.decode()
    assert "All 16 owners over the ceiling or triaging" in html
    all_link = [(u, n) for u, n in numbered_links(html) if u.count("status=") == 2]
    assert len(all_link) == 1 and all_link[0][1] == 16
    check_every_link(leader_client)
