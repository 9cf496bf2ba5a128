"""Reads of products that do more than one filter."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Prefetch, QuerySet
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django.urls import reverse

from portfolio.permissions import AnyUser
from products.extensions import product_health
from products.filters import NONE, ProductFilterSet
from products.models import (
    Cluster,
    Criticality,
    ExternalId,
    Kind,
    LifecycleTransition,
    ManagementModel,
    OwnershipUnit,
    Person,
    Product,
    Stage,
    Team,
)


def product_list(
    *, user: AnyUser, params: Mapping[str, Any] | None = None
) -> tuple[ProductFilterSet, QuerySet[Product]]:
    """Products the user may see, filtered by `params`, with what a list row shows."""
    base = Product.objects.visible_to(user).with_unit()
    filterset = ProductFilterSet(params or None, queryset=base)
    # Unbound (no parameters) means "no filter", not "invalid".
    qs = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    if not (params or {}).get("ordering"):
        qs = qs.order_by("name", "id")
    return filterset, qs


# What one row of the product list shows, read as plain values: a page of 50 rows would
# otherwise build some 300 model instances (product, unit, cluster, owner, login, team).
ROW_COLUMNS = (
    "id",
    "name",
    "slug",
    "strategic",
    "kind",
    "lifecycle_stage",
    "management_model",
    "criticality",
)
ROW_JOINS = {
    "cluster_name": F("unit__cluster__name"),
    "cluster_slug": F("unit__cluster__slug"),
    "owner_pk": F("unit__owner_id"),
    "owner_name": F("unit__owner__name"),
    "owner_active": F("unit__owner__active"),
    "owner_login_active": F("unit__owner__user__is_active"),
    "team_name": F("team__name"),
    "team_slug": F("team__slug"),
}
_LABELS = {
    "kind": dict(Kind.choices),
    "lifecycle_stage": dict(Stage.choices),
    "management_model": dict(ManagementModel.choices),
    "criticality": dict(Criticality.choices),
}
_MARK = "0000000000"


def product_rows(qs: QuerySet[Product]) -> QuerySet[Product, dict[str, Any]]:
    """The list's rows as dictionaries (one query, no model instances). `health` is the worst
    severity of the product's metrics, read in the same statement (None without metrics)."""
    # Column names from tuples leave the plugin unable to type the rows: say what they are.
    rows: QuerySet[Product, dict[str, Any]] = qs.values(
        *ROW_COLUMNS, **ROW_JOINS, health=product_health("pk")
    )
    return rows


def _url_pattern(name: str) -> str:
    return reverse(name, args=[_MARK])


def present_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add display labels, links and the owner warning to rows from product_rows()."""
    product_url = _url_pattern("product-detail")
    cluster_url = _url_pattern("cluster-detail")
    team_url = _url_pattern("team-detail")
    person_url = _url_pattern("person-detail")
    out = []
    for row in rows:
        for field, labels in _LABELS.items():
            row[f"{field}_label"] = labels.get(row[field], row[field])
        row["url"] = product_url.replace(_MARK, row["slug"])
        row["cluster_url"] = cluster_url.replace(_MARK, row["cluster_slug"] or "")
        row["team_url"] = team_url.replace(_MARK, row["team_slug"] or "")
        row["owner_url"] = person_url.replace(_MARK, str(row["owner_pk"]))
        if row["owner_pk"] is None:
            row["owner_warning"] = "No accountable owner"
        elif not row["owner_active"]:
            row["owner_warning"] = "No accountable owner: left"
        elif row["owner_login_active"] is False:
            row["owner_warning"] = "No accountable owner: login disabled"
        else:
            row["owner_warning"] = ""
        out.append(row)
    return out


# From this many ids an `__in` filter sends them as one array parameter: Django compiles a
# placeholder per id, which for a bulk write's 10,000 products took longer than the query.
MANY_IDS = 1000


def ids_in(ids: Iterable[int]) -> Any:
    """The right-hand side of an `__in` filter on ids: the ids, or for many of them one array
    parameter (`IN (SELECT unnest(...))`, the same rows)."""
    ids = list(ids)
    if len(ids) < MANY_IDS:
        return ids
    return RawSQL("SELECT unnest(%s::bigint[])", [ids])


def attach_api_relations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add `dependency_slugs` and `external` to a page of the API's product rows (rows with an
    `id`): two queries for the whole page."""
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        row["dependency_slugs"] = []
        row["external"] = []
    if not by_id:
        return rows
    deps = (
        Product.dependencies.through.objects.filter(from_product_id__in=ids_in(by_id))
        .order_by("from_product_id", "to_product__slug")
        .values_list("from_product_id", "to_product__slug")
    )
    for product_id, slug in deps:
        by_id[product_id]["dependency_slugs"].append(slug)
    ext = (
        ExternalId.objects.filter(product_id__in=ids_in(by_id))
        .order_by("product_id", "source")
        .values_list("product_id", "source", "external_id")
    )
    for product_id, source, external_id in ext:
        by_id[product_id]["external"].append({"source": source, "id": external_id})
    return rows


FILTER_OPTIONS_SECONDS = 300


def _options_version() -> tuple[Any, ...]:
    """Changes whenever a cluster, team, person or unit is added, removed or edited."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM products_cluster), "
            "(SELECT max(updated_at) FROM products_cluster), "
            "(SELECT count(*) FROM products_team), "
            "(SELECT max(updated_at) FROM products_team), "
            "(SELECT count(*) FROM products_person), "
            "(SELECT max(updated_at) FROM products_person), "
            "(SELECT max(updated_at) FROM products_ownershipunit)"
        )
        version: tuple[Any, ...] = cursor.fetchone()
        return version


def _options_html(choices: list[tuple[str, str]]) -> str:
    return "".join(
        f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in choices
    )


# Per filter (cluster, owner, team): its (value, label) choices and their rendered <option>s.
FilterOptions = dict[str, tuple[list[tuple[str, str]], str]]
# The options of the latest version this process has seen, by cache key (one entry at most).
_local_options: dict[str, FilterOptions] = {}


def product_filter_options() -> FilterOptions:
    """The filter bar's cluster, owner and team options, with their rendered <option> HTML.

    At portfolio scale these are about a thousand options; they are built and rendered once
    per change of the underlying rows (one cheap version query), not on every page view.
    """
    version = _options_version()
    key = "product-filter-options:" + hashlib.sha1(repr(version).encode()).hexdigest()
    # This process's copy first (the version query above is what keeps it right), then the
    # shared cache: a GET and an unpickling of some thousand options saved per page.
    local = _local_options.get(key)
    if local is not None:
        return local
    cached: FilterOptions | None = cache.get(key)
    if cached is not None:
        _local_options.clear()
        _local_options[key] = cached
        return cached
    lists = {
        "cluster": [
            ("", "Any cluster"),
            (NONE, "No cluster"),
            *Cluster.objects.order_by("name").values_list("slug", "name"),
        ],
        "owner": [
            ("", "Any owner"),
            (NONE, "No accountable owner"),
            *(
                (str(pk), name)
                for pk, name in Person.objects.filter(units__is_active=True)
                .distinct()
                .order_by("name", "pk")
                .values_list("pk", "name")
            ),
        ],
        "team": [("", "Any team"), *Team.objects.order_by("name").values_list("slug", "name")],
    }
    options = {name: (choices, _options_html(choices)) for name, choices in lists.items()}
    cache.set(key, options, FILTER_OPTIONS_SECONDS)
    _local_options.clear()
    _local_options[key] = options
    return options


def product_detail(*, user: AnyUser, slug: str) -> Product:

    return get_object_or_404(
        Product.objects.visible_to(user)
        .with_unit()
        .select_related("migration_plan")
        .prefetch_related(
            "external_ids",
            "dependencies",
            "dependents",
            Prefetch(
                "transitions",
                queryset=LifecycleTransition.objects.select_related("actor").order_by("at", "id"),
            ),
        ),
        slug=slug,
    )


def owned_units(user: AnyUser) -> QuerySet[OwnershipUnit]:
    """The current ownership units whose owner is `user`'s person, with their members
    (prefetched: one more query) in name order."""
    if not user.is_authenticated:
        return OwnershipUnit.objects.none()
    return (
        OwnershipUnit.objects.current()
        .filter(owner__user=user)
        .select_related("cluster", "product", "owner")
        .prefetch_related(Prefetch("products", queryset=Product.objects.order_by("name", "id")))
        .order_by("kind", "id")
    )


def unit_stage(members: Iterable[Product]) -> str:
    """A unit's stage: the stage most of its members are in (a product unit's own); on a tie,
    the earliest in the lifecycle."""
    counts: dict[str, int] = {}
    for product in members:
        counts[product.lifecycle_stage] = counts.get(product.lifecycle_stage, 0) + 1
    if not counts:
        return ""
    order = {value: i for i, value in enumerate(Stage.values)}
    return max(counts, key=lambda s: (counts[s], -order.get(s, 0)))


def ids_of_products_in_units(unit_ids: Iterable[int]) -> QuerySet[Product, int]:
    """A subquery of the ids of the products run in these units."""
    return Product.objects.filter(unit_id__in=list(unit_ids)).values_list("pk", flat=True)


@dataclass(frozen=True)
class Creation:
    """Who created a record and when, and which history record says so."""

    at: dt.datetime
    by: Any  # the login, or None for a background job
    recorded_on: str  # "unit": the unit's own record; "product": its product's


def unit_created(unit: OwnershipUnit) -> Creation | None:
    """Who created `unit` and when, from the history (two queries at most).

    A unit created on its own (a cluster's, or a product's by `product_create`) has a "+"
    record of its own. A unit created together with its product by a bulk write (the bulk
    upsert, the catalogue import) has none: that write records the pair once, on the
    product's "+" record, with the same actor and the same time as the unit's `created_at`,
    and that record answers for the unit. None when neither exists (a record older than the
    history, say).
    """
    own = (
        unit.history.filter(history_type="+")
        .select_related("history_user")
        .order_by("history_date", "history_id")
        .first()
    )
    if own is not None:
        return Creation(own.history_date, own.history_user, "unit")
    if unit.product_id is None:
        return None
    record = (
        Product.history.filter(id=unit.product_id, history_type="+", history_date=unit.created_at)
        .select_related("history_user")
        .order_by("history_id")
        .first()
    )
    if record is None:
        return None
    return Creation(record.history_date, record.history_user, "product")
