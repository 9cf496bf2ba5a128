"""Review pages: scheduling a cycle, its agenda, packets made in the background with their
progress, the frozen packet (HTML and PDF), meeting mode with decisions, action items, the
backlog and closing, and the reviews on a unit's own page and on the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.compute import run_snapshot
from backlog import services as backlog_services
from backlog.models import BacklogItem
from products.models import Product
from reviews import services
from reviews.models import ActionItem, Decision, Packet, PacketStatus, Review, ReviewCycle
from tests.pages.conftest import HTMX
from tests.portfolio.factories import ClusterFactory, PersonFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(leader, product, other_product):
    """Q1 2030 with two reviews: Payroll (Olivia) and Intranet (Oscar)."""
    return services.cycle_schedule(actor=leader, year=2030, quarter=1).cycle


def agenda(cycle) -> list[Review]:
    return list(
        cycle.reviews.in_agenda_order().select_related("unit__product", "unit__cluster", "owner")
    )


def review_of(product) -> Review:
    return Review.objects.get(unit_id=product.unit_id)


@pytest.fixture
def packets(cycle, leader, django_capture_on_commit_callbacks):
    """Both reviews' packets generated, HTML and PDF (the tasks run on commit, eagerly)."""
    with django_capture_on_commit_callbacks(execute=True):
        services.cycle_generate_packets(actor=leader, cycle=cycle)
    return {p.review.unit.name: p for p in Packet.objects.select_related("review__unit__product")}


# --- the cycle list and scheduling ------------------------------------------------------------


def test_leader_schedules_a_cycle_and_no_owner_has_two_reviews_a_day(leader_client, db):
    # given an owner with three products of their own and another with one
    busy = PersonFactory(name="Bea Busy")
    for name in ("Ledger", "Payslips", "Expenses"):
        ProductFactory(name=name, owner=busy)
    ProductFactory(name="Wiki", owner=PersonFactory(name="Wim Wiki"))

    # when a leader schedules Q1 2030
    response = leader_client.post(
        reverse("review-cycle-schedule"), {"year": 2030, "quarter": 1}, follow=True
    )

    # then the cycle exists, every unit has one review, and Bea is never booked twice a day
    cycle = ReviewCycle.objects.get(year=2030, quarter=1)
    assert response.redirect_chain[-1][0] == cycle.get_absolute_url()
    assert cycle.reviews.count() == 4
    days = list(cycle.reviews.filter(owner=busy).values_list("scheduled_on", flat=True))
    assert len(days) == len(set(days)) == 3
    html = response.content.decode()
    assert "Q1 2030: 4 review(s) scheduled." in html
    for name in ("Ledger", "Payslips", "Expenses", "Wiki", "Bea Busy"):
        assert name in html


def test_double_booking_is_refused_beside_the_dates(leader_client, db):
    # given an owner with two units and a cycle of one single working day
    busy = PersonFactory(name="Bea Busy")
    ProductFactory(name="Ledger", owner=busy)
    ProductFactory(name="Payslips", owner=busy)
    data = {"year": 2030, "quarter": 1, "starts_on": "2030-01-07", "ends_on": "2030-01-07"}

    response = leader_client.post(reverse("review-cycle-schedule"), data, headers=HTMX)

    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="schedule"' in html and "<html" not in html  # the form, swapped in place
    assert "Bea Busy owns more units than Q1 2030 has working days" in html
    assert "owner_double_booked" in html
    errors = html.split('for="schedule_ends_on"')[1]
    assert "owner_double_booked" in errors  # shown beside the last day
    assert not ReviewCycle.objects.exists() and not Review.objects.exists()


def test_bad_quarter_is_a_form_error(leader_client, db):
    response = leader_client.post(reverse("review-cycle-schedule"), {"year": 2030, "quarter": 7})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ReviewCycle.objects.exists()


@pytest.mark.parametrize("who", ["viewer", "owner"])
def test_only_leaders_schedule(who, client_as, request, product):
    client = client_as(request.getfixturevalue(who))
    response = client.post(reverse("review-cycle-schedule"), {"year": 2030, "quarter": 1})
    assert response.status_code == 403
    assert not ReviewCycle.objects.exists()
    html = client.get(reverse("review-cycle-list")).content.decode()
    assert "Schedule a cycle" not in html


def test_cycle_list_counts(viewer_client, cycle, packets, leader):
    payroll = review_of(Product.objects.get(slug="payroll"))
    services.decision_record(actor=leader, review=payroll, kind="continue", rationale="Steady.")
    services.review_close(actor=leader, review=payroll)
    html = viewer_client.get(reverse("review-cycle-list")).content.decode()
    row = html.split(cycle.get_absolute_url())[1].split("</tr>")[0]
    cells = [c.split("<")[0] for c in row.split('class="num">')[1:]]
    assert cells == ["1", "1", "2 of 2"]


# --- the cycle page -------------------------------------------------------------------------


def test_cycle_page_shows_the_agenda_by_day(viewer_client, leader_client, cycle):
    first, second = agenda(cycle)
    html = viewer_client.get(cycle.get_absolute_url()).content.decode()
    assert "Quarterly reviews Q1 2030" in html
    for review in (first, second):
        assert (
            f"{review.scheduled_on:%A} {review.scheduled_on.day} {review.scheduled_on:%B}" in html
        )
        row = html.split(f'id="review-{review.pk}"')[1].split("</tr>")[0]
        assert review.unit.name in row and review.owner.name in row
        assert "None yet" in row and "To hold" in row
        assert reverse("review-meeting-review", args=[cycle.pk, review.pk]) in row
    assert html.index(first.unit.name) < html.index(second.unit.name)
    assert reverse("review-meeting", args=[cycle.pk]) in html
    assert reverse("review-cycle-packets", args=[cycle.pk]) not in html  # viewers
    leader_html = leader_client.get(cycle.get_absolute_url()).content.decode()
    assert reverse("review-cycle-packets", args=[cycle.pk]) in leader_html
    assert "0 of 2 packets ready" in leader_html and "2 not asked for yet" in leader_html


def test_generating_packets_shows_progress_until_all_are_ready(
    leader_client, cycle, django_capture_on_commit_callbacks
):
    url = reverse("review-cycle-packets", args=[cycle.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = leader_client.post(url, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 packets queued" in html and 'id="packet-progress"' in html

    # every review has a finished packet with its PDF
    assert Packet.objects.filter(status=PacketStatus.DONE, pdf_at__isnull=False).count() == 2
    progress = leader_client.get(reverse("review-cycle-progress", args=[cycle.pk]), headers=HTMX)
    text = progress.content.decode()
    assert "2 of 2 packets ready" in text and "All packets are ready." in text
    assert "every 1s" not in text  # polling stops

    # running it again queues nothing new
    with django_capture_on_commit_callbacks(execute=True):
        again = leader_client.post(url, headers=HTMX).content.decode()
    assert "0 packets queued; 2 reviews already had one" in again
    assert Packet.objects.count() == 2


def test_progress_polls_while_packets_are_on_their_way(viewer_client, cycle, leader):
    services.cycle_generate_packets(actor=leader, cycle=cycle)  # not committed: still waiting
    html = viewer_client.get(
        reverse("review-cycle-progress", args=[cycle.pk]), headers=HTMX
    ).content.decode()
    assert "0 of 2 packets ready" in html and "2 being prepared" in html
    assert 'hx-trigger="every 1s"' in html


def test_cycle_close_needs_every_review_closed(leader_client, cycle):
    response = leader_client.post(reverse("review-cycle-close", args=[cycle.pk]))
    assert response.status_code == 409
    assert "reviews_open" in response.content.decode()


# --- packets --------------------------------------------------------------------------------


def test_packet_html_is_the_stored_snapshot(viewer_client, packets):
    packet = packets["Payroll"]
    response = viewer_client.get(reverse("packet-detail", args=[packet.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    before = response.content.decode()
    assert before == packet.html and "Payroll" in before

    # when the product is renamed, the packet still shows what was frozen
    Product.objects.filter(slug="payroll").update(name="Salaries and wages")
    after = viewer_client.get(reverse("packet-detail", args=[packet.pk])).content.decode()
    assert after == before
    assert "Salaries and wages" not in after


def test_packet_pdf_is_served_inline(viewer_client, packets):
    packet = packets["Payroll"]
    response = viewer_client.get(reverse("packet-pdf", args=[packet.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="payroll-review-q1-2030-v1.pdf"'
    assert response.content.startswith(b"%PDF")


def test_a_packet_not_ready_yet_says_so(viewer_client, cycle, leader):
    services.cycle_generate_packets(actor=leader, cycle=cycle)
    packet = Packet.objects.first()
    for name in ("packet-detail", "packet-pdf"):
        response = viewer_client.get(reverse(name, args=[packet.pk]))
        assert response.status_code == 409
        assert "still being put together" in response.content.decode()


def test_review_page_lists_packet_versions(
    owner_client, product, cycle, django_capture_on_commit_callbacks
):
    review = review_of(product)
    url = reverse("review-packet-request", args=[review.pk])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert owner_client.post(url, headers=HTMX).status_code == 200
    html = owner_client.get(review.get_absolute_url()).content.decode()
    v1, v2 = review.packets.order_by("version")
    assert "Version 2" in html and "Version 1" in html
    assert html.index("Version 2") < html.index("Version 1")
    for packet in (v1, v2):
        assert reverse("packet-detail", args=[packet.pk]) in html
        assert reverse("packet-pdf", args=[packet.pk]) in html
    assert "Prepare a new version" in html


# --- meeting mode -----------------------------------------------------------------------------


def test_meeting_walks_the_agenda(viewer_client, cycle):
    first, second = agenda(cycle)
    html = viewer_client.get(reverse("review-meeting", args=[cycle.pk])).content.decode()
    assert 'class="site-header"' not in html  # no site chrome
    assert f"<h1>{first.unit.name}</h1>" in html and "1 of 2" in html
    next_url = reverse("review-meeting-review", args=[cycle.pk, second.pk])
    assert f'href="{next_url}" rel="next"' in html
    assert 'rel="prev"' not in html
    assert "js/meeting.js" in html

    html = viewer_client.get(next_url).content.decode()
    assert f"<h1>{second.unit.name}</h1>" in html and "2 of 2" in html
    assert 'rel="next"' not in html
    query = viewer_client.get(reverse("review-meeting", args=[cycle.pk]) + f"?review={second.pk}")
    assert f"<h1>{second.unit.name}</h1>" in query.content.decode()
    missing = reverse("review-meeting", args=[cycle.pk]) + "?review=999999"
    assert viewer_client.get(missing).status_code == 404


def test_meeting_embeds_the_packet(viewer_client, cycle, packets):
    first = agenda(cycle)[0]
    packet = packets[first.unit.name]
    html = viewer_client.get(reverse("review-meeting", args=[cycle.pk])).content.decode()
    assert f'src="{reverse("packet-detail", args=[packet.pk])}"' in html
    frame = viewer_client.get(reverse("packet-detail", args=[packet.pk]))
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    # its own policy: the frozen inline <style> may apply, nothing loads, no script runs, and
    # only a page of this site (meeting mode) may frame it
    policy = dict(
        part.strip().split(" ", 1) for part in frame["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert policy["style-src"] == "'unsafe-inline'"
    assert policy["frame-ancestors"] == "'self'"


def test_meeting_records_decisions_and_actions_then_closes(
    leader_client, cycle, product, owner_person
):
    review = review_of(product)
    meeting = {"from": "meeting"}

    # a decision, recorded inline
    response = leader_client.post(
        reverse("review-decision-create", args=[review.pk]),
        {**meeting, "kind": "invest", "rationale": "Adoption doubled; fund the self-service."},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="decisions-{review.pk}"' in html and "<html" not in html
    assert "Invest" in html and "Adoption doubled; fund the self-service." in html
    assert 'name="from" value="meeting"' in html

    # an action item, recorded inline for the owner
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    response = leader_client.post(
        reverse("review-action-create", args=[review.pk]),
        {**meeting, "title": "Measure self-service adoption", "owner": "", "due_on": due},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Measure self-service adoption" in html and "Olivia Owner" in html
    assert "0 of 1 done" in html
    item = ActionItem.objects.get(review=review)
    assert item.owner == owner_person and item.due_on.isoformat() == due

    # to the backlog: the new item is at the top of the unit's backlog
    backlog_services.backlog_item_create(actor=owner_person.user, product=product, title="Older")
    response = leader_client.post(
        reverse("review-action-backlog", args=[item.pk]), meeting, headers=HTMX
    )
    assert response.status_code == 200
    item.refresh_from_db()
    top = BacklogItem.objects.filter(unit_id=product.unit_id).order_by("rank").first()
    assert item.backlog_item == top and top.title == "Measure self-service adoption"
    assert top.source == "review_action"
    html = response.content.decode()
    assert "On the backlog" in html
    assert f"{reverse('backlog-detail', args=[product.unit_id])}#item-{top.pk}" in html

    # closing sends the meeting back to the same review, now read-only
    response = leader_client.post(
        reverse("review-close", args=[review.pk]),
        {**meeting, "summary": "Good quarter."},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("review-meeting-review", args=[cycle.pk, review.pk])
    review.refresh_from_db()
    assert review.is_closed and review.summary == "Good quarter."
    html = leader_client.get(response["HX-Redirect"]).content.decode()
    assert "Closed</strong> on" in html
    assert reverse("review-decision-create", args=[review.pk]) not in html

    # and a later decision is refused, with the rule shown
    response = leader_client.post(
        reverse("review-decision-create", args=[review.pk]),
        {**meeting, "kind": "retire", "rationale": "Changed our minds."},
    )
    assert response.status_code == 409
    assert "review_closed" in response.content.decode()
    assert Decision.objects.filter(review=review).count() == 1


def test_closing_without_a_decision_is_refused(leader_client, cycle, product):
    review = review_of(product)
    response = leader_client.post(reverse("review-close", args=[review.pk]), {}, headers=HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "decision_required" in html and f'id="close-{review.pk}"' in html
    review.refresh_from_db()
    assert not review.is_closed


def test_owner_adds_actions_but_does_not_decide(owner_client, cycle, product, other_product):
    review = review_of(product)
    response = owner_client.post(
        reverse("review-action-create", args=[review.pk]), {"title": "Write the runbook"}
    )
    assert response.status_code == 302
    assert response["Location"] == review.get_absolute_url()
    assert ActionItem.objects.filter(review=review, title="Write the runbook").exists()
    decision = owner_client.post(
        reverse("review-decision-create", args=[review.pk]),
        {"kind": "invest", "rationale": "More"},
    )
    assert decision.status_code == 403
    other = owner_client.post(
        reverse("review-action-create", args=[review_of(other_product).pk]), {"title": "Nope"}
    )
    assert other.status_code == 403
    assert not Decision.objects.exists() and ActionItem.objects.count() == 1


def test_action_follow_through_is_tracked_after_close(owner_client, leader, cycle, product):
    review = review_of(product)
    item = services.action_item_create(actor=leader, review=review, title="Retire the old API")
    services.decision_record(actor=leader, review=review, kind="optimise", rationale="Costs.")
    services.review_close(actor=leader, review=review)
    response = owner_client.post(
        reverse("review-action-done", args=[item.pk]), {"done": "on"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "1 of 1 done" in response.content.decode()
    item.refresh_from_db()
    assert item.done
    # removing it is refused now the review is closed
    refused = owner_client.post(reverse("review-action-delete", args=[item.pk]), headers=HTMX)
    assert refused.status_code == 409 and "review_closed" in refused.content.decode()


# --- unit pages and dashboard -------------------------------------------------------------------


def test_product_page_lists_past_and_next_reviews(viewer_client, leader, product, db):
    past = services.cycle_schedule(actor=leader, year=2025, quarter=4).cycle
    review = Review.objects.get(cycle=past, unit_id=product.unit_id)
    services.decision_record(actor=leader, review=review, kind="invest", rationale="Grow it.")
    done = services.action_item_create(actor=leader, review=review, title="A")
    services.action_item_create(actor=leader, review=review, title="B")
    services.action_item_set_done(actor=leader, item=done, done=True)
    services.review_close(actor=leader, review=review)
    services.cycle_schedule(actor=leader, year=2030, quarter=1)
    upcoming = Review.objects.get(cycle__year=2030, unit_id=product.unit_id)

    html = viewer_client.get(product.get_absolute_url()).content.decode()
    section = html.split('class="unit-reviews"')[1].split("</section>")[0]
    assert f'Next review: <a href="{upcoming.get_absolute_url()}">Q1 2030' in section
    assert "Q4 2025" in section and "Invest" in section and "1 of 2 done" in section


def test_cluster_page_lists_its_reviews(viewer_client, leader, owner_person, db):
    cluster = ClusterFactory(name="Finance", slug="finance", owner=owner_person)
    ProductFactory(name="Ledger", cluster=cluster, owner=owner_person)
    cycle = services.cycle_schedule(actor=leader, year=2025, quarter=4).cycle
    review = Review.objects.get(cycle=cycle, unit=cluster.unit)
    html = viewer_client.get(cluster.get_absolute_url()).content.decode()
    section = html.split('class="unit-reviews"')[1].split("</section>")[0]
    assert review.get_absolute_url() in section and "Not held yet" in section
    assert "None recorded" in section and "No review scheduled ahead." in section


@pytest.mark.parametrize("cycles", [1, 4])
def test_cluster_page_query_count_is_fixed(
    cycles, viewer_client, leader, owner_person, django_assert_num_queries
):
    cluster = ClusterFactory(name="Finance", slug="finance", owner=owner_person)
    ProductFactory(name="Ledger", cluster=cluster, owner=owner_person)
    for quarter in range(1, cycles + 1):
        services.cycle_schedule(actor=leader, year=2025, quarter=quarter)
    for review in Review.objects.all():
        services.decision_record(actor=leader, review=review, kind="continue", rationale="Ok")
        services.action_item_create(actor=leader, review=review, title="Check")
    # session, user, cluster with health, leader check, history, members, and one for reviews
    with django_assert_num_queries(7):
        response = viewer_client.get(cluster.get_absolute_url())
    assert response.content.decode().count("0 of 1 done") == cycles


def test_dashboard_counts_reviews_due_and_overdue(viewer_client, leader, db):
    owners = [PersonFactory(name=f"Owner {i}") for i in range(3)]
    products = [ProductFactory(name=f"Unit {i}", owner=owners[i]) for i in range(3)]
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    cycle = services.cycle_schedule(
        actor=leader,
        year=today.year,
        quarter=quarter,
        starts_on=today - dt.timedelta(days=60),
        ends_on=today + dt.timedelta(days=60),
    ).cycle
    days = [today - dt.timedelta(days=3), today + dt.timedelta(days=5), today + dt.timedelta(30)]
    for product, day in zip(products, days, strict=True):
        Review.objects.filter(unit_id=product.unit_id).update(scheduled_on=day)
    run_snapshot()
    html = viewer_client.get(reverse("dashboard")).content.decode()
    panel = html.split('id="panel-reviews"')[1].split("</section>")[0]
    assert "<strong>1</strong> overdue · <strong>1</strong> in the next 14 days" in panel
    # The cycle is linked; its counts are not (the cycle page lists all its reviews, not
    # only the overdue or soon ones, and a linked number opens a list of that many rows).
    assert f'<a href="{cycle.get_absolute_url()}">Q{quarter} {today.year}</a>' in panel
    assert '<span class="overdue">1 overdue</span>' in panel and "1 due soon" in panel
    assert "data-count" not in panel


def test_nav_lists_reviews(viewer_client):
    html = viewer_client.get(reverse("review-cycle-list")).content.decode()
    nav = html.split('aria-label="Main"')[1].split("</nav>")[0]
    assert f'href="{reverse("review-cycle-list")}" aria-current="page"' in nav
