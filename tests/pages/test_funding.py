"""Funding pages: the unit panel and its forms, the approval queue with inline decisions, a
request's decision trail, and the portfolio's funding by stage and mode (exact money, fixed
query counts)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from funding import services, views
from funding.models import FundingAllocation, InvestmentRequest, RequestStatus
from funding.views import QUEUE_PER_PAGE, funding_report
from portfolio.models import PortfolioSettings
from products.models import Stage
from tests.metrics.factories import MetricFactory
from tests.pages.conftest import HTMX
from tests.portfolio.factories import ClusterFactory, PersonFactory, UserFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

YEAR = services.current_fiscal_year()


def allocate(unit, operations, improvement, mode="capacity", year=YEAR):
    return FundingAllocation.objects.create(
        unit=unit,
        fiscal_year=year,
        operations_amount=Decimal(operations),
        improvement_amount=Decimal(improvement),
        mode=mode,
    )


def asked(product, amount, status=RequestStatus.SUBMITTED, year=YEAR, by=None, **kw):
    if status != RequestStatus.DRAFT:  # as request_submit does
        kw.setdefault("submitted_at", timezone.now())
    return InvestmentRequest.objects.create(
        unit=product.unit,
        product=product,
        fiscal_year=year,
        amount=Decimal(amount),
        purpose=kw.pop("purpose", "Faster payslips"),
        status=status,
        requested_by=by,
        decision_reason=kw.pop("reason", "Waiting for a leader: above the threshold."),
        **kw,
    )


@pytest.fixture
def funded(leader, product):
    """Payroll: 60,000.00 to run and 40,000.00 to improve this year; threshold 10,000.00."""
    settings = PortfolioSettings.load()
    settings.governance_threshold = Decimal("10000.00")
    settings.save()
    services.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=YEAR,
        operations_amount="60000", improvement_amount="40000.00", mode="capacity",
    )  # fmt: skip
    return product


def panel_url(product) -> str:
    return reverse("funding-unit", args=[product.unit_id])


def request_url(product) -> str:
    return reverse("funding-unit-request", args=[product.unit_id])


def form_data(product, amount, action="submit", **kw) -> dict:
    return {
        "product": product.pk,
        "amount": amount,
        "purpose": "New payslip layout",
        "metric": "",
        "expected_effect": "",
        "fiscal_year": YEAR,
        "action": action,
        **kw,
    }


# --- the unit panel ----------------------------------------------------------------------------


def test_panel_shows_allocation_committed_waiting_and_left(viewer_client, owner, funded):
    services.request_create(
        actor=owner, product=funded, amount="5000.50", purpose="Dark mode", submit=True
    )
    services.request_create(
        actor=owner, product=funded, amount="12000", purpose="Payslip archive", submit=True
    )
    html = viewer_client.get(panel_url(funded), headers=HTMX).content.decode()
    assert 'id="funding-panel-' in html and "<html" not in html  # the fragment only
    for shown in (
        "Capacity-based",
        "60,000.00 EUR",  # operations
        "40,000.00 EUR",  # improvement
        "5,000.50 EUR",  # committed
        "12,000.00 EUR",  # waiting
        "34,999.50 EUR",  # left
        "Dark mode",
        "Payslip archive",
        "above the governance threshold of 10,000.00 EUR",
    ):
        assert shown in html, shown
    assert "Request investment" not in html  # a viewer cannot ask
    assert "Set the allocation" not in html


def test_panel_as_a_full_page_and_forms_by_role(owner_client, leader_client, funded):
    html = owner_client.get(panel_url(funded)).content.decode()
    assert "<html" in html and "Funding of Payroll" in html
    assert "Request investment" in html and "Set the allocation" not in html
    html = leader_client.get(panel_url(funded)).content.decode()
    assert "Request investment" in html and "Set the allocation" in html


def test_product_and_cluster_pages_load_the_panel_in_place(viewer_client, product, cluster):
    html = viewer_client.get(product.get_absolute_url()).content.decode()
    assert f'hx-get="{panel_url(product)}"' in html
    html = viewer_client.get(cluster.get_absolute_url()).content.decode()
    assert f'hx-get="{reverse("funding-unit", args=[cluster.unit.pk])}"' in html


def test_owner_request_within_threshold_and_capacity_is_approved(owner_client, funded):
    response = owner_client.post(request_url(funded), form_data(funded, "10000.00"), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved by the rules: 10,000.00 EUR." in html
    assert "at or below the governance threshold of 10,000.00 EUR" in html
    assert "30,000.00 EUR" in html  # improvement left after it
    request = InvestmentRequest.objects.get()
    assert (request.status, request.auto_approved, request.amount) == (
        "approved",
        True,
        Decimal("10000.00"),
    )


def test_owner_request_above_threshold_waits_for_a_leader(owner_client, funded):
    metric = MetricFactory(product=funded, name="Payslip time")
    data = form_data(funded, "10000.01", metric=metric.pk, expected_effect="Halve it")
    html = owner_client.post(request_url(funded), data, headers=HTMX).content.decode()
    assert "10,000.01 EUR waits for a leader in the approval queue." in html
    assert "Waiting for a leader: above the governance threshold of 10,000.00 EUR." in html
    request = InvestmentRequest.objects.get()
    assert (request.status, request.metric, request.expected_effect) == (
        "submitted",
        metric,
        "Halve it",
    )


def test_owner_request_beyond_capacity_waits_and_says_why(owner_client, funded, owner):
    for _ in range(4):
        services.request_create(
            actor=owner, product=funded, amount="9999.99", purpose="Small step", submit=True
        )
    html = owner_client.post(request_url(funded), form_data(funded, "1.00"), headers=HTMX)
    assert "beyond the 0.04 EUR of improvement capacity left" in html.content.decode()


def test_save_as_draft_does_not_decide(owner_client, funded):
    html = owner_client.post(
        request_url(funded), form_data(funded, "500", action="draft"), headers=HTMX
    ).content.decode()
    assert "500.00 EUR saved as a draft." in html
    assert InvestmentRequest.objects.get().status == "draft"


def test_plain_post_redirects_back_to_the_panel_with_the_answer(owner_client, funded):
    response = owner_client.post(request_url(funded), form_data(funded, "20000"), follow=True)
    assert response.redirect_chain[0][1] == 302
    assert "waits for a leader" in response.content.decode()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "Must be more than zero."),
        ("abc", "Not an amount: it is not a number."),
        ("12,50", "Not an amount: a comma before one or two last digits could be decimals"),
        ("12.500,00", "Not an amount: a comma after the point reads as decimals"),
        ("1,2,3", "Not an amount: commas or spaces go only between groups of three digits"),
        ("12.345", "At most two decimals."),
        ("0", "Must be more than zero."),
    ],
)
def test_bad_amounts_are_field_errors_and_nothing_is_stored(owner_client, funded, amount, message):
    response = owner_client.post(request_url(funded), form_data(funded, amount), headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "has-errors" in html  # on the amount field
    assert not InvestmentRequest.objects.exists()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("12,500", "12500.00"),
        ("12 500", "12500.00"),
        ("12500.50", "12500.50"),
        ("12,500.00", "12500.00"),
        ("1,234,567.5", "1234567.50"),
    ],
)
def test_amounts_are_accepted_as_the_app_shows_them(owner_client, funded, typed, stored):
    response = owner_client.post(request_url(funded), form_data(funded, typed, action="draft"))
    assert response.status_code == 302
    assert InvestmentRequest.objects.get().amount == Decimal(stored)


def test_the_allocation_takes_grouped_amounts_too(leader_client, product):
    url = reverse("funding-unit-allocation", args=[product.unit_id])
    data = {
        "operations_amount": "60,000.00",
        "improvement_amount": "40 000",
        "mode": "capacity",
        "note": "",
        "fiscal_year": YEAR,
    }
    assert leader_client.post(url, data, headers=HTMX).status_code == 200
    allocation = FundingAllocation.objects.get()
    assert (allocation.operations_amount, allocation.improvement_amount) == (
        Decimal("60000.00"),
        Decimal("40000.00"),
    )


def test_missing_purpose_is_a_field_error(owner_client, funded):
    data = form_data(funded, "100", purpose="")
    assert owner_client.post(request_url(funded), data, headers=HTMX).status_code == 400
    assert not InvestmentRequest.objects.exists()


def test_a_component_of_another_unit_is_refused(owner_client, funded, other_product):
    data = {**form_data(funded, "100"), "product": other_product.pk}
    assert owner_client.post(request_url(funded), data, headers=HTMX).status_code == 400
    assert not InvestmentRequest.objects.exists()


@pytest.mark.parametrize("who", ["viewer", "other_owner"])
def test_viewer_and_other_owner_cannot_ask(client_as, request, funded, who):
    client = client_as(request.getfixturevalue(who))
    response = client.post(request_url(funded), form_data(funded, "100"), headers=HTMX)
    assert response.status_code == 403
    assert "Only the owner of Payroll or a portfolio leader" in response.content.decode()
    assert not InvestmentRequest.objects.exists()


def test_leader_sets_the_allocation_from_the_panel(leader_client, product):
    url = reverse("funding-unit-allocation", args=[product.unit_id])
    data = {
        "operations_amount": "1200.50",
        "improvement_amount": "800",
        "mode": "reactive",
        "note": "",
        "fiscal_year": YEAR,
    }
    html = leader_client.post(url, data, headers=HTMX).content.decode()
    assert f"Allocation for {YEAR} saved." in html and "Reactive" in html
    allocation = FundingAllocation.objects.get()
    assert (allocation.operations_amount, allocation.improvement_amount) == (
        Decimal("1200.50"),
        Decimal("800.00"),
    )
    bad = leader_client.post(url, {**data, "improvement_amount": "-1"}, headers=HTMX)
    assert bad.status_code == 400 and "Must not be negative." in bad.content.decode()


def test_owner_cannot_set_the_allocation(owner_client, product):
    url = reverse("funding-unit-allocation", args=[product.unit_id])
    data = {"operations_amount": "1", "improvement_amount": "1", "mode": "capacity"}
    response = owner_client.post(url, {**data, "fiscal_year": YEAR}, headers=HTMX)
    assert response.status_code == 403
    assert not FundingAllocation.objects.exists()


# --- the approval queue ------------------------------------------------------------------------


@pytest.fixture
def waiting(owner, funded):
    return services.request_create(
        actor=owner, product=funded, amount="25000", purpose="Payslip archive",
        expected_effect="Fewer tickets", submit=True,
    )  # fmt: skip


def decide_url(req) -> str:
    return reverse("funding-request-decide", args=[req.pk])


def test_queue_lists_waiting_requests_with_reason_and_capacity(viewer_client, waiting, owner):
    services.request_create(
        actor=owner, product=waiting.product, amount="100", purpose="Approved small", submit=True
    )
    html = viewer_client.get(reverse("funding-requests")).content.decode()
    assert "1 request (waiting for a leader)" in html
    assert "Payslip archive" in html and "Fewer tickets" in html
    assert "25,000.00 EUR" in html
    assert "above the governance threshold of 10,000.00 EUR" in html
    assert "39,900.00" in html  # improvement left for the unit
    assert "Approved small" not in html
    assert 'value="approve"' not in html  # a viewer sees no buttons
    html = viewer_client.get(reverse("funding-requests") + "?status=all").content.decode()
    assert "Approved small" in html


def test_queue_filters_by_year_cluster_stage_and_mode(viewer_client, waiting, cluster, owner):
    member = ProductFactory(cluster=cluster, owner=cluster.unit.owner)
    asked(member, "300", purpose="Cluster ask")
    url = reverse("funding-requests")
    assert "Cluster ask" in viewer_client.get(f"{url}?cluster={cluster.slug}").content.decode()
    html = viewer_client.get(f"{url}?cluster={cluster.slug}").content.decode()
    assert "Payslip archive" not in html
    asked(member, "400", purpose="Last year ask", year=YEAR - 1)
    html = viewer_client.get(f"{url}?fiscal_year={YEAR - 1}").content.decode()
    assert "Last year ask" in html and "Payslip archive" not in html
    html = viewer_client.get(f"{url}?mode=capacity").content.decode()
    assert "Payslip archive" in html and "Cluster ask" not in html
    html = viewer_client.get(f"{url}?mode=none&stage=maturity").content.decode()
    assert "Cluster ask" in html and "Payslip archive" not in html
    bad = viewer_client.get(f"{url}?status=nonsense&fiscal_year=abc&stage=x")
    assert bad.status_code == 200 and "Payslip archive" in bad.content.decode()


def next_page(html: str) -> str:
    """The href of the page's "Next" link (its `&amp;` unescaped)."""
    link = re.search(r'<a href="([^"]*)" hx-get="[^"]*">Next', html)
    assert link, "no Next link"
    return reverse("funding-requests") + link.group(1).replace("&amp;", "&")


def rows_of(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="request-(\d+)"', html)]


def test_queue_pages_by_cursor_longest_waiting_first(viewer_client, owner, funded, monkeypatch):
    """Five waiting requests, two a page: 2, 2, 1, each page after the last one's cursor,
    the longest waiting first (submitted_at, then id for the same moment)."""
    monkeypatch.setattr(views, "QUEUE_PER_PAGE", 2)
    same = timezone.now() - dt.timedelta(days=3)
    made = [asked(funded, "20000", purpose=f"Ask {i}") for i in range(5)]
    for i, req in enumerate(made):
        # two share a moment: the id breaks the tie
        when = same if i in (1, 3) else same + dt.timedelta(hours=i + 1)
        InvestmentRequest.objects.filter(pk=req.pk).update(submitted_at=when)
    expected = [made[1].pk, made[3].pk, made[0].pk, made[2].pk, made[4].pk]
    url = reverse("funding-requests") + "?cluster=&stage="
    seen, pages = [], []
    html = viewer_client.get(url).content.decode()
    while True:
        pages.append(rows_of(html))
        seen += pages[-1]
        if "Next →" not in html:
            break
        assert "← First page" in html or len(pages) == 1
        html = viewer_client.get(next_page(html)).content.decode()
    assert seen == expected
    assert [len(p) for p in pages] == [2, 2, 1]
    assert "5 requests (waiting for a leader)" in html and "← First page" in html


def test_queue_cursor_keeps_the_filters_and_a_decided_row_does_not_shift_the_next_page(
    leader_client, owner, funded, monkeypatch
):
    monkeypatch.setattr(views, "QUEUE_PER_PAGE", 2)
    made = [asked(funded, "20000", purpose=f"Ask {i}") for i in range(4)]
    html = leader_client.get(reverse("funding-requests") + f"?fiscal_year={YEAR}").content.decode()
    assert rows_of(html) == [made[0].pk, made[1].pk]
    # The first row is approved meanwhile: an offset would now skip made[2].
    InvestmentRequest.objects.filter(pk=made[0].pk).update(status=RequestStatus.APPROVED)
    link = next_page(html)
    assert f"fiscal_year={YEAR}" in link
    assert rows_of(leader_client.get(link).content.decode()) == [made[2].pk, made[3].pk]


def test_queue_other_statuses_latest_change_first(viewer_client, funded):
    older = asked(funded, "1", status=RequestStatus.REJECTED, purpose="Older")
    newer = asked(funded, "2", status=RequestStatus.REJECTED, purpose="Newer")
    InvestmentRequest.objects.filter(pk=older.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=1)
    )
    html = viewer_client.get(reverse("funding-requests") + "?status=rejected").content.decode()
    assert rows_of(html) == [newer.pk, older.pk]


@pytest.mark.parametrize("cursor", ["nonsense", "W10", "WyJ4IiwgMV0", "WzEsIDIsIDNd", "%00"])
def test_queue_bad_cursor_shows_the_first_page(viewer_client, waiting, cursor):
    response = viewer_client.get(reverse("funding-requests") + f"?after={cursor}")
    assert response.status_code == 200
    html = response.content.decode()
    assert rows_of(html) == [waiting.pk]
    assert "not one of this list" in html


def test_queue_empty_states(viewer_client, funded, owner, monkeypatch):
    html = viewer_client.get(reverse("funding-requests")).content.decode()
    assert "0 requests (waiting for a leader)" in html
    assert "No requests here." in html and "Next →" not in html and "First page" not in html
    # past the last row (the only request was decided after the page was read)
    monkeypatch.setattr(views, "QUEUE_PER_PAGE", 1)
    first, second = asked(funded, "20000"), asked(funded, "20001")
    html = viewer_client.get(reverse("funding-requests")).content.decode()
    assert rows_of(html) == [first.pk]
    InvestmentRequest.objects.filter(pk=second.pk).update(status=RequestStatus.REJECTED)
    html = viewer_client.get(next_page(html)).content.decode()
    assert rows_of(html) == []
    assert "No more requests: this was the last page." in html
    assert "← First page" in html


def test_queue_counts_up_to_its_cap(viewer_client, funded, monkeypatch):
    monkeypatch.setattr(views, "QUEUE_COUNT_CAP", 3)
    for i in range(3):
        asked(funded, "20000", purpose=f"Ask {i}")
    html = viewer_client.get(reverse("funding-requests")).content.decode()
    assert "3 requests (waiting for a leader)" in html
    asked(funded, "20000", purpose="One more")
    html = viewer_client.get(reverse("funding-requests")).content.decode()
    assert "More than 3 requests (waiting for a leader)" in html
    assert len(rows_of(html)) == 4


def test_queue_filter_bar_lists_no_cluster_and_no_year(viewer_client, waiting, cluster):
    """The cluster is typed (slug or id), the year too: the bar is the same however many
    clusters and years there are."""
    html = viewer_client.get(reverse("funding-requests")).content.decode()
    assert cluster.name not in html
    assert '<input type="text" name="cluster"' in html
    assert '<input type="number" name="fiscal_year"' in html
    html = viewer_client.get(
        reverse("funding-requests") + f"?cluster={cluster.slug}&fiscal_year={YEAR}"
    ).content.decode()
    assert f'value="{cluster.slug}"' in html and f'value="{YEAR}"' in html
    assert rows_of(html) == []  # the waiting request is not in the cluster


@pytest.mark.parametrize(
    "who, sees_buttons",
    [("viewer", False), ("owner", False), ("other_owner", False), ("leader", True)],
)
def test_queue_by_role(client_as, request, waiting, who, sees_buttons):
    """Everyone signed in reads the queue; only a leader who neither asked nor owns the unit
    gets the decision buttons (anonymous: sent to sign in)."""
    html = client_as(request.getfixturevalue(who)).get(reverse("funding-requests"))
    assert html.status_code == 200
    body = html.content.decode()
    assert rows_of(body) == [waiting.pk]
    assert ('value="approve"' in body) is sees_buttons
    anonymous = client_as(None).get(reverse("funding-requests"))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_leader_approves_inline_and_the_row_shows_it(client_as, waiting):
    other_leader = UserFactory(username="second", leader=True)
    response = client_as(other_leader).post(
        decide_url(waiting), {"decision": "approve", "reason": "Worth it"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="request-{waiting.pk}"')
    assert "Decided: approved." in html and "Worth it" in html and 'value="approve"' not in html
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by, waiting.decision_reason) == (
        "approved",
        other_leader,
        "Worth it",
    )


def test_reject_without_a_reason_shows_the_error_in_the_row(leader_client, waiting):
    response = leader_client.post(decide_url(waiting), {"decision": "reject"}, headers=HTMX)
    assert response.status_code == 400
    assert "Say why you reject it; the owner reads it." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == "submitted"


def test_owner_who_is_not_a_leader_cannot_approve(owner_client, waiting):
    response = owner_client.post(
        decide_url(waiting), {"decision": "approve", "reason": "Mine"}, headers=HTMX
    )
    assert response.status_code == 403
    assert "Only a portfolio leader can approve" in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == "submitted"


def test_leader_who_owns_the_unit_sees_why_and_is_refused(client_as, leader, funded):
    person = PersonFactory(name="Lea Leader", user=leader)
    own = ProductFactory(name="Leader's own", owner=person)
    other_leader = UserFactory(username="second", leader=True)
    theirs = services.request_create(
        actor=other_leader, product=own, amount="1", purpose="For the leader's unit", submit=True
    )
    mine = services.request_create(
        actor=leader, product=funded, amount="50000", purpose="Asked by me", submit=True
    )
    client = client_as(leader)
    html = client.get(reverse("funding-requests")).content.decode()
    assert "You own this unit: another leader decides." in html
    assert "You asked for it: another leader decides." in html
    assert 'value="approve"' not in html
    for req in (theirs, mine):
        response = client.post(
            decide_url(req), {"decision": "approve", "reason": "Fine"}, headers=HTMX
        )
        assert response.status_code == 403
        assert "no_self_approval" in response.content.decode()
        req.refresh_from_db()
        assert req.status == "submitted"


def test_deciding_a_decided_request_is_a_conflict_in_the_row(leader_client, waiting, client_as):
    services.request_withdraw(actor=waiting.requested_by, request=waiting)
    response = leader_client.post(
        decide_url(waiting), {"decision": "approve", "reason": "Late"}, headers=HTMX
    )
    assert response.status_code == 409
    assert "this one is withdrawn" in response.content.decode()


def test_plain_decision_redirects_to_the_request(leader_client, waiting):
    response = leader_client.post(decide_url(waiting), {"decision": "reject", "reason": "No"})
    assert response.status_code == 302
    assert response.url == reverse("funding-request", args=[waiting.pk])


# --- one request -------------------------------------------------------------------------------


def test_request_page_shows_the_decision_trail(viewer_client, client_as, waiting):
    other_leader = UserFactory(username="second", leader=True)
    services.request_reject(actor=other_leader, request=waiting, reason="Next year")
    html = viewer_client.get(reverse("funding-request", args=[waiting.pk])).content.decode()
    trail = ("Drafted by owner", "Submitted", "Rejected by second", "Next year")
    for shown in ("25,000.00 EUR for Payroll", *trail, "Payslip archive", "Fewer tickets"):
        assert shown in html, shown
    assert "Withdraw" not in html


def test_owner_submits_a_draft_and_withdraws_a_waiting_request(owner_client, owner, funded):
    draft = services.request_create(actor=owner, product=funded, amount="20000", purpose="Big")
    page = owner_client.get(reverse("funding-request", args=[draft.pk])).content.decode()
    assert "Submit" in page and "Withdraw" in page
    response = owner_client.post(reverse("funding-request-submit", args=[draft.pk]), follow=True)
    assert "waits for a leader" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "submitted"
    owner_client.post(reverse("funding-request-withdraw", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == "withdrawn"
    again = owner_client.post(reverse("funding-request-withdraw", args=[draft.pk]))
    assert again.status_code == 409 and "cannot be withdrawn" in again.content.decode()


def test_viewer_cannot_withdraw(viewer_client, waiting):
    response = viewer_client.post(reverse("funding-request-withdraw", args=[waiting.pk]))
    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == "submitted"


# --- the portfolio view ------------------------------------------------------------------------


@pytest.fixture
def portfolio_money(db):
    """Growth: a product alone (100 / 200, capacity) and a tied cluster (10 / 20, project);
    maturity: a cluster mostly in maturity (1,000 / 500, reactive); retirement: 5 / 5."""
    person = PersonFactory()
    alone = ProductFactory(lifecycle_stage=Stage.GROWTH, owner=person)
    allocate(alone.unit, "100", "200", "capacity")
    mostly = ClusterFactory(owner=person)
    members = [
        ProductFactory(cluster=mostly, owner=person, lifecycle_stage=stage)
        for stage in (Stage.GROWTH, Stage.MATURITY, Stage.MATURITY, Stage.RETIRED, Stage.RETIRED)
    ]
    allocate(mostly.unit, "1000", "500", "reactive")
    tied = ClusterFactory(owner=person)
    for stage in (Stage.MATURITY, Stage.GROWTH):
        ProductFactory(cluster=tied, owner=person, lifecycle_stage=stage)
    allocate(tied.unit, "10", "20", "project")
    leaving = ProductFactory(lifecycle_stage=Stage.RETIREMENT, owner=person)
    allocate(leaving.unit, "5", "5", "capacity")
    allocate(leaving.unit, "999", "999", "capacity", year=YEAR - 1)  # another year
    asked(alone, "150.25", status=RequestStatus.APPROVED)
    asked(members[0], "50000", status=RequestStatus.SUBMITTED)
    asked(members[1], "7", status=RequestStatus.REJECTED)
    unfunded = ProductFactory(lifecycle_stage=Stage.INTRODUCTION, owner=person)
    asked(unfunded, "42", status=RequestStatus.SUBMITTED)
    return alone


def test_funding_by_stage_and_mode(portfolio_money):
    report = funding_report(YEAR)
    stage = {b.key: b for b in report.by_stage}
    assert (stage["growth"].operations, stage["growth"].improvement, stage["growth"].units) == (
        Decimal("110.00"),
        Decimal("220.00"),
        2,
    )
    assert stage["growth"].committed == Decimal("150.25")
    assert stage["growth"].remaining == Decimal("69.75")
    assert (stage["maturity"].allocated, stage["maturity"].waiting) == (
        Decimal("1500.00"),
        Decimal("50000.00"),
    )
    assert stage["retirement"].allocated == Decimal("10.00")
    assert (stage["introduction"].units, stage["introduction"].waiting) == (0, Decimal("42.00"))
    mode = {b.key: b for b in report.by_mode}
    assert (mode["capacity"].operations, mode["capacity"].committed) == (
        Decimal("105.00"),
        Decimal("150.25"),
    )
    assert mode["reactive"].waiting == Decimal("50000.00")
    assert mode["project"].allocated == Decimal("30.00")
    assert mode["none"].waiting == Decimal("42.00")
    assert (report.total.operations, report.total.improvement) == (
        Decimal("1115.00"),
        Decimal("725.00"),
    )
    assert (report.total.committed, report.total.waiting) == (
        Decimal("150.25"),
        Decimal("50042.00"),
    )


def test_funding_page_shows_the_numbers_chart_and_links(viewer_client, portfolio_money):
    html = viewer_client.get(reverse("funding-portfolio")).content.decode()
    assert "<svg" in html and "Improvement committed" in html
    for shown in ("1,115.00", "725.00", "50,042.00", "69.75", "Reactive", "No allocation"):
        assert shown in html, shown
    assert "/products/?stage=growth" in html
    assert f"/funding/requests/?status=submitted&amp;fiscal_year={YEAR}&amp;stage=maturity" in html
    last_year = viewer_client.get(reverse("funding-portfolio") + f"?year={YEAR - 1}")
    assert "999.00" in last_year.content.decode()
    assert viewer_client.get(reverse("funding-portfolio") + "?year=abc").status_code == 200


def test_funding_page_partial_for_htmx(viewer_client, portfolio_money):
    html = viewer_client.get(reverse("funding-portfolio"), headers=HTMX).content.decode()
    assert html.lstrip().startswith('<div id="funding-report">')


# --- query counts ------------------------------------------------------------------------------


def _many(n: int) -> None:
    """n units of every shape with allocations and requests in every status."""
    PortfolioSettings.load()  # the row exists, as it does after the first page of a real site
    person = PersonFactory()
    stages = [Stage.INTRODUCTION, Stage.GROWTH, Stage.MATURITY, Stage.RETIREMENT]
    statuses = [RequestStatus.SUBMITTED, RequestStatus.APPROVED, RequestStatus.REJECTED]
    for i in range(n):
        cluster = ClusterFactory(owner=person) if i % 2 else None
        product = ProductFactory(owner=person, cluster=cluster, lifecycle_stage=stages[i % 4])
        MetricFactory(product=product)
        allocate(product.unit, "100", "200", ["capacity", "project", "reactive"][i % 3])
        asked(product, "10", status=statuses[i % 3], by=UserFactory())
        asked(product, "20", status=RequestStatus.SUBMITTED, metric=product.metrics.first())


# session, user, leader group, rows (one page, keyset), count (capped), settings: no list of
# clusters or years, whatever the portfolio holds
QUEUE_QUERIES = 6
# session, user, years, allocations grouped, requests grouped, settings, leader group (nav)
PORTFOLIO_QUERIES = 7
# session, user, unit, leader group, allocation, request sums, components, metrics, requests,
# settings
PANEL_QUERIES = 10


@pytest.mark.parametrize("n", [2, 12, 40])
def test_queue_query_count_is_fixed(n, leader_client, django_assert_num_queries):
    """2 * n requests: 4, 24 and 80 (more than a page); the next page costs the same."""
    _many(n)
    with django_assert_num_queries(QUEUE_QUERIES):
        response = leader_client.get(reverse("funding-requests") + "?status=all")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="request-row') == min(2 * n, QUEUE_PER_PAGE)
    assert f"{2 * n} requests" in html
    if 2 * n > QUEUE_PER_PAGE:
        with django_assert_num_queries(QUEUE_QUERIES):
            response = leader_client.get(next_page(html))
        assert response.content.decode().count('class="request-row') == 2 * n - QUEUE_PER_PAGE


@pytest.mark.parametrize("n", [2, 12])
def test_portfolio_query_count_is_fixed(n, viewer_client, django_assert_num_queries):
    _many(n)
    with django_assert_num_queries(PORTFOLIO_QUERIES):
        response = viewer_client.get(reverse("funding-portfolio"))
    assert response.status_code == 200


@pytest.mark.parametrize("n", [1, 8])
def test_panel_query_count_is_fixed(n, leader_client, cluster, django_assert_num_queries):
    person = cluster.unit.owner
    for _ in range(n):
        product = ProductFactory(cluster=cluster, owner=person)
        MetricFactory(product=product)
        asked(product, "5")
    allocate(cluster.unit, "10", "10")
    PortfolioSettings.load()
    with django_assert_num_queries(PANEL_QUERIES):
        response = leader_client.get(reverse("funding-unit", args=[cluster.unit.pk]), headers=HTMX)
    assert response.status_code == 200


def test_dashboard_loads_the_funding_panel_for_the_current_year(leader, client, product):
    from funding import services as funding_services

    year = funding_services.current_fiscal_year()
    funding_services.allocation_set(
        actor=leader, unit=product.unit, fiscal_year=year,
        operations_amount="1200.50", improvement_amount="3000", mode="reactive",
    )  # fmt: skip
    from analytics.compute import run_snapshot

    run_snapshot()
    client.force_login(leader)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert f'hx-get="{reverse("funding-summary")}"' in dashboard
    panel = client.get(reverse("funding-summary"), HTTP_HX_REQUEST="true").content.decode()
    assert f"Funding {year}" in panel
    assert "<strong>4,200.50</strong> EUR allocated: 1,200.50 to run, 3,000.00 to improve" in panel
    assert '<td>Reactive</td><td class="num">1</td>' in panel
    assert "<svg" in panel
