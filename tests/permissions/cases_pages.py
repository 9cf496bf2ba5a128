"""Permission cases for the server-rendered pages: every route, GET and POST, five roles.

Reads: anonymous is sent to the login page (302), every login reads (200).
Writes: the owner of the unit and leaders succeed (302 after a POST, 200 for the form),
owners of other units and viewers get 403. Methods a route does not serve answer 405.
"""

from __future__ import annotations

import datetime as dt

from django.forms.models import model_to_dict

from portfolio.models import PortfolioSettings
from products.models import MigrationPlan
from tests.permissions.spec import Case, World, page_read

ANON = 302


def everyone(status: int, *, anonymous: int = ANON) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "viewer": status,
        "owner": status,
        "other_owner": status,
        "leader": status,
    }


def leader_only(ok: int) -> dict[str, int]:
    return {"anonymous": ANON, "viewer": 403, "owner": 403, "other_owner": 403, "leader": ok}


def unit_owner_or_leader(ok: int) -> dict[str, int]:
    return {"anonymous": ANON, "viewer": 403, "owner": ok, "other_owner": 403, "leader": ok}


NOT_ALLOWED = everyone(405)

product = lambda w: {"slug": w.product.slug}  # noqa: E731
cluster = lambda w: {"slug": w.cluster.slug}  # noqa: E731
person = lambda w: {"pk": w.owner_person.pk}  # noqa: E731
team = lambda w: {"slug": w.team.slug}  # noqa: E731


def product_data(w: World) -> dict:
    """A valid edit of `w.product`; owner/cluster are read only from a leader's form."""
    return {
        "name": "Payroll",
        "slug": "payroll",
        "kind": "system",
        "criticality": "high",
        "management_model": "product",
        "description": "Salaries and payslips.",
        "owner": w.owner_person.pk,
        "cluster": "",
    }


def new_product_data(w: World) -> dict:
    return {
        "name": "Expense claims",
        "kind": "service",
        "lifecycle_stage": "introduction",
        "criticality": "medium",
        "management_model": "product",
        "owner": w.owner_person.pk,
    }


def given_migration_plan(w: World) -> dict:
    """Give `w.product` an open migration plan, so marking it done can succeed."""
    MigrationPlan.objects.create(
        product=w.product, planned_end_date=dt.date.today() + dt.timedelta(days=90)
    )
    return {}


def cluster_data(w: World) -> dict:
    return {
        "name": w.cluster.name,
        "slug": w.cluster.slug,
        "owner": w.owner_person.pk,
        "reasons": ["same_users", "same_domain"],
        "reason_note": "Both serve new starters.",
        "description": "",
    }


def person_data(w: World) -> dict:
    p = w.owner_person
    return {
        "name": p.name,
        "email": p.email,
        "title": "Lead owner",
        "user": p.user_id,
        "active": "on",
    }


def settings_data(w: World) -> dict:
    values = model_to_dict(PortfolioSettings.load())
    values.pop("id", None)
    values["max_stable_units"] = 4
    return values


CASES = [
    # --- home and health ---
    Case("home", everyone(302)),
    Case("home", everyone(302), method="post"),
    # My work: every login reads their own (an empty state without units); nothing to write.
    Case("my-work", page_read()),
    Case("my-work", NOT_ALLOWED, method="post"),
    Case("healthz", everyone(200, anonymous=200)),
    Case("healthz", everyone(405, anonymous=405), method="post"),
    # the icon browsers ask for on every page: a redirect to the SVG, login or not
    Case("favicon", everyone(301, anonymous=301)),
    Case("favicon", everyone(405, anonymous=405), method="post"),
    # the browser's CSP reports: no login (a batched report has no cookie), no CSRF, logged only
    Case(
        "csp-report",
        everyone(204, anonymous=204),
        method="post",
        api=True,
        data=lambda w: {"csp-report": {"blocked-uri": "inline"}},
    ),
    Case("csp-report", everyone(405, anonymous=405)),
    # the API docs (Swagger UI) are a page: a login first
    Case("api-docs", page_read()),
    Case("api-docs", page_read(), query="?script=", label="start-up script"),
    # --- products ---
    Case("product-list", page_read()),
    Case("product-list", page_read(), htmx=True, label="table partial"),
    Case(
        "product-list",
        page_read(),
        query="?stage=maturity&cluster=none&owner=none",
        label="filtered",
    ),
    Case("product-list", NOT_ALLOWED, method="post"),
    Case("product-create", leader_only(200)),
    Case("product-create", leader_only(302), method="post", data=new_product_data),
    Case("product-model-suggest", NOT_ALLOWED),
    Case(
        "product-model-suggest",
        everyone(200),
        method="post",
        htmx=True,
        data=lambda w: {"q-has_end": "on"},
    ),
    Case("product-detail", page_read(), kwargs=product),
    Case("product-detail", NOT_ALLOWED, method="post", kwargs=product),
    Case("product-edit", unit_owner_or_leader(200), kwargs=product),
    Case(
        "product-edit", unit_owner_or_leader(302), method="post", kwargs=product, data=product_data
    ),
    Case("product-transition", unit_owner_or_leader(200), kwargs=product),
    Case(
        "product-transition", unit_owner_or_leader(200), kwargs=product, htmx=True, label="dialog"
    ),
    Case(
        "product-transition",
        unit_owner_or_leader(302),
        method="post",
        kwargs=product,
        data=lambda w: {"to_stage": "growth", "reason": "Reinvesting in new capabilities."},
    ),
    Case("product-plan-done", NOT_ALLOWED, kwargs=product),
    Case(
        "product-plan-done",
        unit_owner_or_leader(302),
        method="post",
        kwargs=product,
        data=given_migration_plan,
    ),
    # --- clusters ---
    Case("cluster-list", page_read()),
    Case("cluster-list", NOT_ALLOWED, method="post"),
    Case("cluster-create", leader_only(200)),
    Case(
        "cluster-create",
        leader_only(302),
        method="post",
        data=lambda w: {"name": "Finance tools", "reasons": ["same_domain"]},
    ),
    Case("cluster-detail", page_read(), kwargs=cluster),
    Case("cluster-detail", NOT_ALLOWED, method="post", kwargs=cluster),
    Case("cluster-edit", unit_owner_or_leader(200), kwargs=cluster),
    Case(
        "cluster-edit", unit_owner_or_leader(302), method="post", kwargs=cluster, data=cluster_data
    ),
    Case("cluster-members", NOT_ALLOWED, kwargs=cluster),
    Case(
        "cluster-members",
        leader_only(302),
        method="post",
        kwargs=cluster,
        label="add",
        data=lambda w: {"action": "add", "product": w.other_product.pk},
    ),
    Case(
        "cluster-members",
        leader_only(302),
        method="post",
        kwargs=cluster,
        label="remove",
        data=lambda w: {
            "action": "remove",
            "product": w.clustered.pk,
            "new_owner": w.other_owner_person.pk,
        },
    ),
    # --- people ---
    Case("person-list", page_read()),
    Case("person-list", NOT_ALLOWED, method="post"),
    Case("person-create", leader_only(200)),
    Case(
        "person-create",
        leader_only(302),
        method="post",
        data=lambda w: {"name": "Nina New", "email": "nina@example.org", "active": "on"},
    ),
    Case("person-detail", page_read(), kwargs=person),
    Case("person-detail", NOT_ALLOWED, method="post", kwargs=person),
    Case("person-edit", leader_only(200), kwargs=person),
    Case("person-edit", leader_only(302), method="post", kwargs=person, data=person_data),
    Case("person-depart", NOT_ALLOWED, kwargs=person),
    Case(
        "person-depart",
        leader_only(302),
        method="post",
        kwargs=lambda w: {"pk": w.other_owner_person.pk},
    ),
    # --- teams ---
    Case("team-list", page_read()),
    Case("team-list", NOT_ALLOWED, method="post"),
    Case("team-create", leader_only(200)),
    Case(
        "team-create",
        leader_only(302),
        method="post",
        data=lambda w: {"name": "Finance systems", "members": [w.owner_person.pk]},
    ),
    Case("team-detail", page_read(), kwargs=team),
    Case("team-detail", NOT_ALLOWED, method="post", kwargs=team),
    Case("team-edit", leader_only(200), kwargs=team),
    Case(
        "team-edit",
        leader_only(302),
        method="post",
        kwargs=team,
        data=lambda w: {
            "name": w.team.name,
            "slug": w.team.slug,
            "members": [w.owner_person.pk, w.other_owner_person.pk],
        },
    ),
    # --- settings (the account's token pages: cases_tokens_pages.py) ---
    Case("settings", page_read()),
    Case("settings", leader_only(302), method="post", data=settings_data),
]
