import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from products import services
from products.models import MigrationPlan, Product, Stage
from tests.pages.conftest import HTMX, transitions_for
from tests.portfolio.factories import ClusterFactory
from tests.products.factories import ExternalIdFactory, ProductFactory

pytestmark = pytest.mark.django_db


def detail(product):
    return reverse("product-detail", args=[product.slug])


def transition_url(product):
    return reverse("product-transition", args=[product.slug])


# --- detail ---------------------------------------------------------------------------------


def test_detail_shows_stage_focus_timeline_and_change_history(owner_client, owner, product):
    # given a product that was edited and moved back to growth by its owner
    services.product_update(actor=owner, product=product, description="Pays everyone monthly.")
    services.product_transition(
        actor=owner, product=product, to_stage=Stage.GROWTH, reason="New country to support."
    )
    # when its page is read
    html = owner_client.get(detail(product)).content.decode()
    # then the stage, its investment focus, the move and the field changes are all there
    assert "Invest in new capabilities and in adoption." in html
    assert "New country to support." in html
    assert "Pays everyone monthly." in html
    history = html.split("Change history")[1]
    assert "Description" in history and "Lifecycle stage" in history
    assert "owner" in history  # who made the change


def test_detail_lists_dependencies_dependents_and_external_ids(viewer_client, product):
    # given a product with a dependency, a dependent and an external id
    db_product = ProductFactory(name="Database platform")
    product.dependencies.add(db_product)
    portal = ProductFactory(name="Self-service portal")
    portal.dependencies.add(product)
    ExternalIdFactory(product=product, source="cmdb", external_id="CI-4242")
    # when read
    html = viewer_client.get(detail(product)).content.decode()
    # then each is listed in its place
    assert "Database platform" in html.split("Depends on")[1].split("Needed by")[0]
    assert "Self-service portal" in html.split("Needed by")[1]
    assert "cmdb:CI-4242" in html


def test_buttons_show_only_to_those_who_may_use_them(viewer_client, owner_client, product):
    edit, move = reverse("product-edit", args=["payroll"]), transition_url(product)
    viewer_html = viewer_client.get(detail(product)).content.decode()
    owner_html = owner_client.get(detail(product)).content.decode()
    assert edit not in viewer_html and move not in viewer_html
    assert edit in owner_html and move in owner_html


def test_unknown_product_is_404(viewer_client):
    assert viewer_client.get(reverse("product-detail", args=["nope"])).status_code == 404


# Session, user, leader check, product with its unit/owner/team/plan, external ids,
# dependencies, dependents, transitions with actors, history records, the backlog section,
# the metrics panel (metrics with their status, settings; sparklines only when there are metrics),
# the unit's reviews with their decisions and action follow-through, and the dependency map
# (its edges two levels deep, then its nodes with their health).
PRODUCT_DETAIL_QUERIES = 15


@pytest.mark.parametrize("rows", [5, 50])
def test_product_detail_query_count_does_not_grow(
    rows, viewer_client, product, django_assert_num_queries
):
    # given `rows` dependencies, dependents, external ids, moves and history records
    for i in range(rows):
        dependency = ProductFactory(name=f"Dependency {i}")
        product.dependencies.add(dependency)
        ProductFactory(name=f"Dependent {i}").dependencies.add(product)
        ExternalIdFactory(product=product, source=f"src{i}")
        product.description = f"Version {i}"
        product.save()
    transitions_for(product, rows)
    # when the page is read, then the count is fixed
    with django_assert_num_queries(PRODUCT_DETAIL_QUERIES):
        response = viewer_client.get(detail(product))
    assert response.status_code == 200
    assert len(response.context["product"].dependencies.all()) == rows


# --- create and edit ------------------------------------------------------------------------


def test_leader_creates_a_product_and_is_sent_to_it(leader_client, owner_person):
    response = leader_client.post(
        reverse("product-create"),
        {
            "name": "Expense claims",
            "kind": "service",
            "lifecycle_stage": "introduction",
            "criticality": "medium",
            "management_model": "product",
            "owner": owner_person.pk,
            "external_ids": "cmdb:CI-7\nservicedesk: SD-7",
        },
    )
    product = Product.objects.get(name="Expense claims")
    assert response.status_code == 302
    assert response["Location"] == detail(product)
    assert product.owner == owner_person
    assert {(e.source, e.external_id) for e in product.external_ids.all()} == {
        ("cmdb", "CI-7"),
        ("servicedesk", "SD-7"),
    }


def test_htmx_create_success_answers_with_hx_redirect(leader_client):
    response = leader_client.post(
        reverse("product-create"),
        {
            "name": "Wiki",
            "kind": "service",
            "lifecycle_stage": "growth",
            "criticality": "low",
            "management_model": "product",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == detail(Product.objects.get(name="Wiki"))


def test_htmx_form_errors_render_inline_with_400(leader_client):
    # given a leader submitting through htmx without a name, as a project with no end date
    response = leader_client.post(
        reverse("product-create"),
        {
            "name": "",
            "kind": "system",
            "lifecycle_stage": "introduction",
            "criticality": "medium",
            "management_model": "project",
        },
        headers=HTMX,
    )
    html = response.content.decode()
    # then only the form comes back, with each error beside its field
    assert response.status_code == 400
    assert html.lstrip().startswith("<form")
    assert "<html" not in html
    assert "This field is required." in html.split('name="name"')[1].split("</div>")[0]
    assert "A project needs an end date." in html.split('name="project_end_date"')[1]
    assert 'aria-invalid="true"' in html


def test_service_validation_errors_land_on_their_fields(leader_client, product):
    # given an external id already used by another product
    ExternalIdFactory(product=product, source="cmdb", external_id="CI-1")
    base = {
        "kind": "system",
        "lifecycle_stage": "introduction",
        "criticality": "medium",
        "management_model": "product",
    }
    # when a new product claims that id, and another one the slug of an existing product
    taken_id = leader_client.post(
        reverse("product-create"),
        {**base, "name": "Copy", "external_ids": "cmdb:CI-1"},
        headers=HTMX,
    )
    taken_slug = leader_client.post(
        reverse("product-create"), {**base, "name": "Copy", "slug": "payroll"}, headers=HTMX
    )
    # then each ValidationFailed from the service is shown beside its field, with a 400
    assert taken_id.status_code == taken_slug.status_code == 400
    id_field = taken_id.content.decode().split('name="external_ids"')[1]
    assert "cmdb:CI-1 already belongs to another product." in id_field
    slug_field = taken_slug.content.decode().split('name="slug"')[1].split("</div>")[0]
    assert "already exists" in slug_field
    assert not Product.objects.filter(name="Copy").exists()


def test_malformed_external_ids_are_a_form_error(leader_client):
    response = leader_client.post(
        reverse("product-create"),
        {
            "name": "X",
            "kind": "system",
            "lifecycle_stage": "introduction",
            "criticality": "medium",
            "management_model": "product",
            "external_ids": "no-colon",
        },
    )
    assert response.status_code == 400
    assert "source:id" in response.content.decode()


def test_owner_cannot_open_the_create_form(owner_client):
    assert owner_client.get(reverse("product-create")).status_code == 403


def test_leader_only_fields_are_hidden_from_owners(owner_client, leader_client, product):
    url = reverse("product-edit", args=[product.slug])
    owner_html = owner_client.get(url).content.decode()
    leader_html = leader_client.get(url).content.decode()
    for name in ("owner", "cluster", "strategic"):
        assert f'name="{name}"' not in owner_html
        assert f'name="{name}"' in leader_html
    assert 'name="lifecycle_stage"' not in leader_html  # stages move by transitions only


def test_owner_edits_descriptive_fields(owner_client, product):
    response = owner_client.post(
        reverse("product-edit", args=[product.slug]),
        {
            "name": "Payroll",
            "slug": "payroll",
            "kind": "system",
            "criticality": "critical",
            "management_model": "product",
            "user_groups": "HR\nFinance",
            "strategic": "on",
        },
    )
    product.refresh_from_db()
    assert response.status_code == 302
    assert product.criticality == "critical"
    assert product.user_groups == "HR\nFinance"
    assert product.strategic is False  # not on an owner's form, so never sent to the service


def test_leader_moves_a_product_into_a_cluster_from_the_edit_form(
    leader_client, product, owner_person
):
    cluster = ClusterFactory(name="Finance", slug="finance", owner=owner_person)
    leader_client.post(
        reverse("product-edit", args=[product.slug]),
        {
            "name": "Payroll",
            "slug": "payroll",
            "kind": "system",
            "criticality": "medium",
            "management_model": "product",
            "owner": owner_person.pk,
            "cluster": cluster.pk,
        },
    )
    product.refresh_from_db()
    assert product.cluster == cluster


def test_other_owner_cannot_edit(client_as, other_owner, product):
    client = client_as(other_owner)
    assert client.get(reverse("product-edit", args=[product.slug])).status_code == 403


# --- management model suggestion ------------------------------------------------------------


def test_model_suggestion_returns_a_partial_with_reasons(owner_client):
    response = owner_client.post(
        reverse("product-model-suggest"),
        {"q-has_end": "on", "q-commodity_infrastructure": "on"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<strong class="suggested-model">project</strong>' in html
    assert "natural end" in html


def test_create_form_offers_the_guided_questions(leader_client):
    html = leader_client.get(reverse("product-create")).content.decode()
    assert 'name="q-daily_users"' in html
    assert reverse("product-model-suggest") in html


# --- lifecycle moves ------------------------------------------------------------------------


def test_move_dialog_is_a_modal_partial_with_only_allowed_moves(owner_client, product):
    # given a product in maturity
    # when the dialog is asked for through htmx
    response = owner_client.get(transition_url(product), headers=HTMX)
    html = response.content.decode()
    # then a dialog fragment offers only the moves allowed from maturity
    assert response.status_code == 200
    assert html.lstrip().startswith("<dialog")
    assert "<html" not in html
    offered = {
        v
        for v in ("introduction", "growth", "maturity", "retirement", "retired")
        if f'name="to_stage" value="{v}"' in html
    }
    assert offered == {"introduction", "growth", "retirement"}
    assert "HX-Request" in response["Vary"]


def test_move_dialog_without_htmx_is_a_full_page(owner_client, product):
    response = owner_client.get(transition_url(product))
    assert b"<html" in response.content and b"<dialog" not in response.content


def test_skipping_a_stage_is_refused_with_the_rule_next_to_the_field(client_as, owner_person):
    # given a product in introduction owned by the owner
    product = ProductFactory(lifecycle_stage=Stage.INTRODUCTION, owner=owner_person)
    # when the owner tries to jump straight to maturity
    response = client_as(owner_person.user).post(
        transition_url(product), {"to_stage": "maturity"}, headers=HTMX
    )
    html = response.content.decode()
    # then the dialog comes back with the rule beside the stage choice, as a 409
    assert response.status_code == 409
    assert html.lstrip().startswith("<dialog")
    moves = html.split('<fieldset class="moves')[1].split("</fieldset>")[0]
    assert "forward_one_stage_at_a_time" in moves
    assert "not straight to maturity" in moves
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.INTRODUCTION


def test_retirement_without_a_plan_shows_errors_on_the_plan_fields(owner_client, product):
    response = owner_client.post(transition_url(product), {"to_stage": "retirement"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Name at least one target product" in html.split('name="targets"')[1]
    assert "A planned end date is required." in html.split('name="planned_end_date"')[1]


def test_retirement_with_a_plan_moves_and_redirects(owner_client, product, other_product):
    end = timezone.localdate() + dt.timedelta(days=60)
    response = owner_client.post(
        transition_url(product),
        {
            "to_stage": "retirement",
            "targets": [other_product.pk],
            "planned_end_date": end.isoformat(),
            "reason": "Replaced by the new suite.",
        },
        headers=HTMX,
    )
    product.refresh_from_db()
    assert response.status_code == 200
    assert response["HX-Redirect"] == detail(product)
    assert product.lifecycle_stage == Stage.RETIREMENT
    assert list(product.migration_plan.targets.all()) == [other_product]


def test_retiring_before_the_plan_is_done_is_a_rule_violation(owner_client, product):
    product.lifecycle_stage = Stage.RETIREMENT
    product.save()
    MigrationPlan.objects.create(
        product=product,
        planned_end_date=timezone.localdate(),
        capability_dropped=True,
        dropped_reason="Nobody uses it.",
    )
    response = owner_client.post(transition_url(product), {"to_stage": "retired"})
    assert response.status_code == 409
    assert b"retired_needs_plan_done" in response.content


def test_leader_may_override_with_a_reason(leader_client, product):
    product.lifecycle_stage = Stage.RETIREMENT
    product.save()
    MigrationPlan.objects.create(
        product=product,
        planned_end_date=timezone.localdate(),
        capability_dropped=True,
        dropped_reason="Nobody uses it.",
    )
    dialog = leader_client.get(transition_url(product), headers=HTMX).content.decode()
    assert 'name="override"' in dialog
    response = leader_client.post(
        transition_url(product),
        {"to_stage": "retired", "override": "on", "reason": "Licence ends this week."},
    )
    product.refresh_from_db()
    assert response.status_code == 302
    assert product.lifecycle_stage == Stage.RETIRED
    assert product.transitions.last().override is True


def test_owner_is_not_offered_the_override(owner_client, product):
    product.lifecycle_stage = Stage.RETIREMENT
    product.save()
    dialog = owner_client.get(transition_url(product), headers=HTMX).content.decode()
    assert 'name="override"' not in dialog


def test_other_owner_cannot_move_a_product(client_as, other_owner, product):
    response = client_as(other_owner).post(
        transition_url(product), {"to_stage": "growth", "reason": "Mine now"}
    )
    assert response.status_code == 403
    product.refresh_from_db()
    assert product.lifecycle_stage == Stage.MATURITY


def test_mark_plan_done_then_the_detail_says_so(owner_client, product):
    product.lifecycle_stage = Stage.RETIREMENT
    product.save()
    MigrationPlan.objects.create(
        product=product,
        planned_end_date=timezone.localdate(),
        capability_dropped=True,
        dropped_reason="Nobody uses it.",
    )
    response = owner_client.post(reverse("product-plan-done", args=[product.slug]), headers=HTMX)
    assert response["HX-Redirect"] == detail(product)
    assert "Done on" in owner_client.get(detail(product)).content.decode()


def test_mark_plan_done_without_a_plan_is_a_409_partial(owner_client, product):
    response = owner_client.post(reverse("product-plan-done", args=[product.slug]), headers=HTMX)
    assert response.status_code == 409
    assert b"no_migration_plan" in response.content
    assert b"<html" not in response.content
