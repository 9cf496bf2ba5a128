"""A deterministic synthetic portfolio in four sizes (S, M, L, XL), written with COPY.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=postgres://.../portfolio_bench_m \\
        .venv/bin/python -m bench.generate M

expects a freshly migrated, empty database and prints what it wrote as JSON. The same size
always gives the same rows (one seeded random.Random, a fixed "today"), so two runs on two
machines measure the same portfolio.

The shape is meant to look like a real portfolio, not a uniform one:
- cluster sizes follow a Zipf curve (a few clusters of dozens of products, many of 2 or 3);
- owner load is skewed: a few people own ten or more units, far over the ceiling of 1 active
  plus 3 stable units, many own one or two, and about a fifth own nothing;
- orphans: some units have no owner, some are owned by a person who has left, a few by a
  person whose login is disabled;
- every lifecycle stage, with the recorded transitions that lead to it, migration plans (done
  for retired products), project-managed items with end dates, external ids from three
  sources, dependencies, team memberships and django-simple-history rows;
- rows created up to nine years before "today" and some in the last weeks;
- funding for "today"'s fiscal year: an allocation for every current unit (capacity-based for
  most, per project for units of project items, reactive for most orphans) and about two
  investment requests per unit in every status, a tenth of them above the governance
  threshold.

Every table is filled with one COPY: ids are assigned here (so rows can point at each other,
e.g. a product and its own unit) and the sequences are moved past them at the end. Columns a
later migration adds with a default are filled with that default, so the generator keeps
working as the models grow.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Everything is relative to this fixed "today", so a size always gives the same rows.
TODAY = dt.datetime(2025, 11, 1, 9, 0, tzinfo=dt.UTC)
PASSWORD = "bench-pass-2026"  # every generated login; hashed once


@dataclass(frozen=True)
class Size:
    products: int
    people: int
    clusters: int
    teams: int
    leaders: int
    clustered_share: float = 0.45  # products that are members of a cluster


SIZES: dict[str, Size] = {
    "S": Size(products=200, people=40, clusters=20, teams=8, leaders=2),
    "M": Size(products=2_000, people=250, clusters=150, teams=50, leaders=4),
    "L": Size(products=5_000, people=600, clusters=400, teams=120, leaders=6),
    # Four times L's catalogue (people, clusters and teams grow with it), ten times its readings.
    "XL": Size(products=20_000, people=2_400, clusters=1_600, teams=480, leaders=8),
}

# Backlog items per size: (all items, the one "big backlog" among them). The big backlog is the
# unit the backlog figures measure; one more unit gets exactly SMALL_BACKLOG items, to compare
# query counts; the rest are spread over the other active units with a Zipf skew.
BACKLOGS: dict[str, tuple[int, int]] = {
    "S": (2_000, 1_000),
    "M": (50_000, 5_000),
    "L": (500_000, 10_000),
    "XL": (2_000_000, 20_000),
}
SMALL_BACKLOG = 5
# Funding: one fiscal year (the generator's "today"'s), the default governance threshold.
FUNDING_YEAR = TODAY.year
FUNDING_THRESHOLD = 100_000.0
REQUEST_STATUSES = [
    ("approved", 0.45),
    ("submitted", 0.20),
    ("rejected", 0.10),
    ("withdrawn", 0.10),
    ("draft", 0.15),
]
RANK_GAP = 1 << 20  # backlog.ranking.GAP: ranks spaced by it in each unit's order

STAGES = [
    ("introduction", 0.10),
    ("growth", 0.20),
    ("maturity", 0.45),
    ("retirement", 0.13),
    ("retired", 0.12),
]
STAGE_ORDER = [s for s, _ in STAGES]
KINDS = [
    ("system", 0.40),
    ("service", 0.25),
    ("platform", 0.15),
    ("integration", 0.12),
    ("infrastructure", 0.08),
]
CRITICALITIES = [("low", 0.20), ("medium", 0.45), ("high", 0.25), ("critical", 0.10)]
REASONS = ["same_users", "same_domain", "technical_dependency"]


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Ana Ben Carla David Eva Farid Greta Hugo Ines Jonas Karin Luis Maja Nils Olga Pavel "
    "Quinn Rosa Sven Tara Umar Vera Wim Xenia Yusuf Zoe Aino Bruno Chloe Dario Elif Femi "
    "Gil Hana Ivo Jana Kofi Lena Milo Nora"
)
LAST = _words(
    "Andersen Bauer Costa Dubois Eriksen Fischer Garcia Horvat Ivanova Jansen Kowalski "
    "Lindqvist Moreau Novak Oliveira Petrov Quint Rossi Schmidt Tanaka Ulrich Varga Weber "
    "Xu Yilmaz Zeller Becker Navarro Okafor Svensson"
)
TITLES = [
    "Product owner",
    "Engineering manager",
    "Service manager",
    "Solution architect",
    "Platform lead",
    "Business analyst",
    "Head of applications",
    "Developer",
]
DOMAINS = _words(
    "Finance Payroll Procurement Logistics Sales Marketing Customer Support Identity "
    "Analytics Records Billing Travel Facilities Legal Compliance Learning Recruiting "
    "Inventory Warehouse Fleet Treasury Pricing Research Quality Safety Claims Contracts "
    "Documents Archive Reporting Messaging Scheduling Booking Assets Tax Audit Risk"
)
THINGS = _words(
    "portal ledger gateway hub engine registry tracker planner console scheduler broker "
    "catalogue exchange vault monitor workbench archive connector pipeline dashboard "
    "directory desk service store"
)
QUALIFIERS = _words(
    "Core Central Legacy Next Global Regional Mobile Self-service Cloud Shared Partner "
    "Internal Public Batch Realtime"
)
GROUPS = [
    "Accountants",
    "Sales reps",
    "Warehouse staff",
    "HR partners",
    "Customer agents",
    "Field engineers",
    "Managers",
    "Auditors",
    "Developers",
    "Suppliers",
    "Students",
    "Drivers",
    "Lawyers",
    "Analysts",
]
USE_VERBS = _words("Record Approve Track Plan Report Book Reconcile Search Archive Notify Export")
USE_OBJECTS = _words(
    "invoices expenses orders shipments contracts claims tickets shifts assets payments "
    "documents leads audits trips"
)
SENTENCES = [
    "Used every day by {group}.",
    "Replaced a spreadsheet process in {year}.",
    "Runs on the shared {platform} platform.",
    "Integrates with the {domain} systems through nightly batches.",
    "Hosted by an external vendor under a yearly contract.",
    "Peak load at month end; otherwise quiet.",
    "Holds personal data: access is reviewed every quarter.",
    "Owned by the {domain} department since the reorganisation.",
]


def _weighted(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _slugify(text: str) -> str:
    out = []
    for ch in text.lower():
        out.append(ch if ch.isascii() and ch.isalnum() else "-")
    return "-".join(filter(None, "".join(out).split("-")))


def _zipf_sizes(total: int, count: int, minimum: int, s: float = 1.0) -> list[int]:
    """`count` sizes summing to `total`, each >= minimum, shaped like a Zipf curve."""
    weights = [1 / (k**s) for k in range(1, count + 1)]
    spare = total - minimum * count
    scale = spare / sum(weights)
    sizes = [minimum + int(w * scale) for w in weights]
    for i in range(total - sum(sizes)):  # rounding: hand the rest to the head
        sizes[i % count] += 1
    return sizes


def _moment(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    span = max((end - start).total_seconds(), 0)
    return start + dt.timedelta(seconds=int(rng.random() * span))


def _text(rng: random.Random, n: int, domain: str) -> str:
    return " ".join(
        rng.choice(SENTENCES).format(
            group=rng.choice(GROUPS).lower(),
            year=rng.randint(2008, 2024),
            platform=rng.choice(THINGS),
            domain=domain,
        )
        for _ in range(n)
    )


class Portfolio:
    """The rows of one size, built in memory (a few tens of thousands) before any COPY."""

    def __init__(self, size_name: str):
        self.size_name = size_name
        self.size = SIZES[size_name]
        self.rng = random.Random(f"portfolio-bench-{size_name}")
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        self.rows.setdefault(table, []).append(row)
        return row

    # -- people and logins ---------------------------------------------------------------

    def build(self) -> Portfolio:
        self._people()
        self._teams()
        self._clusters()
        self._products()
        self._owners()
        self._stable_keepers()
        self._lifecycle()
        self._links()
        self._history()
        self._backlog()
        self._funding()
        self.metric_plans = plan_metrics(self)
        return self

    def _people(self) -> None:
        rng, size = self.rng, self.size
        self.users: list[dict] = []
        self.leader_user_ids: list[int] = []
        self.people: list[dict] = []
        for i in range(1, size.leaders + 1):
            user = self.add(
                "user",
                {
                    "id": i,
                    "username": f"leader{i}",
                    "email": f"leader{i}@bench.example",
                    "first_name": "Leader",
                    "last_name": str(i),
                    "is_staff": True,
                    "is_superuser": False,
                    "is_active": True,
                    "date_joined": TODAY - dt.timedelta(days=2000 + i),
                    "last_login": TODAY - dt.timedelta(days=i),
                },
            )
            self.leader_user_ids.append(user["id"])
        next_user = size.leaders + 1
        for pid in range(1, size.people + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = TODAY - dt.timedelta(days=int(rng.random() ** 1.5 * 3200))
            departed = rng.random() < 0.08
            person = {
                "id": pid,
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}.{pid}@bench.example",
                "title": rng.choice(TITLES),
                "active": not departed,
                "departed_on": (
                    _moment(rng, created, TODAY - dt.timedelta(days=3)).date() if departed else None
                ),
                "created_at": created,
                "updated_at": _moment(rng, created, TODAY),
                "user_id": None,
            }
            if rng.random() < 0.75:
                user = self.add(
                    "user",
                    {
                        "id": next_user,
                        "username": f"user{pid}",
                        "email": person["email"],
                        "first_name": first,
                        "last_name": last,
                        "is_staff": False,
                        "is_superuser": False,
                        # A departed person's login is usually switched off; a few stay
                        # disabled while the person is still listed as active.
                        "is_active": (not departed and rng.random() > 0.03)
                        or (departed and rng.random() < 0.3),
                        "date_joined": created,
                        "last_login": _moment(rng, created, TODAY) if rng.random() < 0.8 else None,
                    },
                )
                person["user_id"] = user["id"]
                next_user += 1
            self.people.append(self.add("person", person))
        self.users = self.rows["user"]

    def _teams(self) -> None:
        rng = self.rng
        self.teams = []
        used: set[str] = set()
        member_id = 1
        for tid in range(1, self.size.teams + 1):
            name = f"{rng.choice(DOMAINS)} {rng.choice(['squad', 'team', 'crew', 'guild'])}"
            while name in used:
                name = f"{name} {len(used) % 97 + 2}"
            used.add(name)
            created = TODAY - dt.timedelta(days=int(rng.random() * 2500))
            team = self.add(
                "team",
                {
                    "id": tid,
                    "name": name,
                    "slug": _slugify(name),
                    "description": _text(rng, 1, name.split()[0]),
                    "created_at": created,
                    "updated_at": _moment(rng, created, TODAY),
                },
            )
            self.teams.append(team)
            for person in rng.sample(self.people, k=min(len(self.people), rng.randint(3, 9))):
                member = {"id": member_id, "team_id": tid, "person_id": person["id"]}
                self.add("team_members", member)
                member_id += 1

    def _clusters(self) -> None:
        rng, size = self.rng, self.size
        self.clusters = []
        used: set[str] = set()
        for cid in range(1, size.clusters + 1):
            domain = DOMAINS[(cid - 1) % len(DOMAINS)]
            name = f"{domain} {rng.choice(['suite', 'family', 'landscape', 'platform', 'estate'])}"
            if name in used:
                name = f"{name} {cid}"
            used.add(name)
            created = TODAY - dt.timedelta(days=int(rng.random() ** 1.3 * 3000))
            # About one cluster in ten gives no reason: the rule flags those.
            reasons = [] if rng.random() < 0.1 else sorted(rng.sample(REASONS, rng.randint(1, 2)))
            self.clusters.append(
                self.add(
                    "cluster",
                    {
                        "id": cid,
                        "name": name,
                        "slug": _slugify(name),
                        "description": _text(rng, rng.randint(1, 2), domain),
                        "reasons": reasons,
                        "reason_note": "Grouped after the portfolio review." if reasons else "",
                        "created_at": created,
                        "updated_at": _moment(rng, created, TODAY),
                    },
                )
            )

    # -- products and units ------------------------------------------------------------

    def _products(self) -> None:
        rng, size = self.rng, self.size
        members = int(size.products * size.clustered_share)
        cluster_sizes = _zipf_sizes(members, size.clusters, minimum=2)
        membership: list[int | None] = []
        for cluster, n in zip(self.clusters, cluster_sizes, strict=True):
            membership += [cluster["id"]] * n
        membership += [None] * (size.products - members)
        rng.shuffle(membership)
        self.cluster_sizes = cluster_sizes

        # Cluster units first (ids 1..C), then one unit per product.
        self.units: list[dict] = []
        for cluster in self.clusters:
            self.units.append(
                self.add(
                    "unit",
                    {
                        "id": cluster["id"],
                        "kind": "cluster",
                        "cluster_id": cluster["id"],
                        "product_id": None,
                        "owner_id": None,
                        "is_active": True,
                        "created_at": cluster["created_at"],
                        "updated_at": cluster["updated_at"],
                    },
                )
            )
        slugs: set[str] = set()
        self.products = []
        for pid in range(1, size.products + 1):
            domain = rng.choice(DOMAINS)
            name = f"{rng.choice(QUALIFIERS)} {domain} {rng.choice(THINGS)}"
            slug = base = _slugify(name)
            n = 2
            while slug in slugs:
                slug, n = f"{base}-{n}", n + 1
            slugs.add(slug)
            # Old and new rows: most products are years old, some added in the last weeks.
            if rng.random() < 0.08:
                created = TODAY - dt.timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23))
            else:
                created = TODAY - dt.timedelta(days=int(60 + rng.random() ** 1.4 * 3200))
            updated = (
                _moment(rng, TODAY - dt.timedelta(days=30), TODAY)
                if rng.random() < 0.2
                else _moment(rng, created, TODAY)
            )
            project = rng.random() < 0.10
            cluster_id = membership[pid - 1]
            unit_id = size.clusters + pid
            product = self.add(
                "product",
                {
                    "id": pid,
                    "name": name,
                    "slug": slug,
                    "kind": _weighted(rng, KINDS),
                    "description": _text(rng, rng.randint(1, 4), domain),
                    "user_groups": "\n".join(rng.sample(GROUPS, rng.randint(0, 3))),
                    "user_count": (
                        None if rng.random() < 0.2 else int(math.exp(rng.uniform(1.5, 10.5)))
                    ),
                    "key_use_cases": "\n".join(
                        f"{rng.choice(USE_VERBS)} {rng.choice(USE_OBJECTS)}"
                        for _ in range(rng.randint(0, 4))
                    ),
                    "business_capabilities": "\n".join(
                        f"{d} management" for d in rng.sample(DOMAINS, rng.randint(0, 2))
                    ),
                    "criticality": _weighted(rng, CRITICALITIES),
                    "strategic": rng.random() < 0.12,
                    "under_significant_change": rng.random() < 0.08,
                    "lifecycle_stage": _weighted(rng, STAGES),
                    "stage_changed_at": created,  # set by _lifecycle
                    "management_model": "project" if project else "product",
                    "project_end_date": (
                        (TODAY + dt.timedelta(days=rng.randint(-120, 540))).date()
                        if project
                        else None
                    ),
                    "created_at": created,
                    "updated_at": max(updated, created),
                    "team_id": rng.choice(self.teams)["id"] if rng.random() < 0.85 else None,
                    "unit_id": cluster_id if cluster_id is not None else unit_id,
                },
            )
            self.products.append(product)
            # The product's own unit: dormant while the product sits in a cluster.
            self.units.append(
                self.add(
                    "unit",
                    {
                        "id": unit_id,
                        "kind": "product",
                        "cluster_id": None,
                        "product_id": pid,
                        "owner_id": None,
                        "is_active": cluster_id is None,
                        "created_at": created,
                        "updated_at": product["updated_at"],
                    },
                )
            )

    def _owners(self) -> None:
        """Skewed load: a few heavy owners, a long tail, a fifth who own nothing, orphans."""
        rng = self.rng
        weights = []
        for _person in self.people:
            r = rng.random()
            if r < 0.20:
                w = 0.0  # team members only
            elif r < 0.26:
                w = 9.0  # the overloaded few: ten or more units each
            else:
                w = 1.0
            weights.append(w)
        active_units = [u for u in self.units if u["is_active"]]
        for unit in active_units:
            if rng.random() < 0.05:
                continue  # no owner at all
            unit["owner_id"] = rng.choices(self.people, weights=weights)[0]["id"]
        # A dormant unit keeps the owner it had before its product joined a cluster, sometimes.
        for unit in self.units:
            if not unit["is_active"] and rng.random() < 0.3:
                unit["owner_id"] = rng.choice(self.people)["id"]

    def _stable_keepers(self) -> None:
        """A few owners who keep several mature products going, each in a unit of its own and
        none changing: over the ceiling of stable units without being actively evolving
        anywhere (the analytics' `over`, beside the heavy owners' `triaging`). Own seeded rng,
        so the rest of the portfolio stays as it was; they take the units from other
        accountable owners and make no orphans."""
        rng = random.Random(f"portfolio-bench-keepers-{self.size_name}")
        users = {u["id"]: u for u in self.rows["user"]}
        people = {p["id"]: p for p in self.people}

        def accountable(person_id: int | None) -> bool:
            person = people.get(person_id)
            if person is None or not person["active"]:
                return False
            user = users.get(person["user_id"])
            return user is None or user["is_active"]

        owning = {u["owner_id"] for u in self.units if u["is_active"]}
        keepers = [p for p in self.people if p["id"] not in owning and accountable(p["id"])]
        rng.shuffle(keepers)
        products = {p["id"]: p for p in self.products}
        stable = [
            u
            for u in self.units
            if u["is_active"]
            and u["kind"] == "product"
            and accountable(u["owner_id"])
            and products[u["product_id"]]["management_model"] == "product"
            and products[u["product_id"]]["lifecycle_stage"] == "maturity"
            and not products[u["product_id"]]["under_significant_change"]
        ]
        rng.shuffle(stable)
        self.keepers = []
        for i, person in enumerate(keepers[: max(3, len(self.people) // 40)]):
            take = 4 + i % 3  # 4 to 6 stable units: the ceiling is 3
            if len(stable) < take:
                break
            for unit in stable[:take]:
                unit["owner_id"] = person["id"]
            del stable[:take]
            self.keepers.append(person["id"])

    # -- lifecycle, plans and links ------------------------------------------------------

    def _lifecycle(self) -> None:
        rng = self.rng
        actors = [*self.leader_user_ids, None]
        self.moves: dict[int, list[tuple[str, dt.datetime]]] = {}
        for product in self.products:
            target = STAGE_ORDER.index(product["lifecycle_stage"])
            start, end = product["created_at"], product["updated_at"]
            path = STAGE_ORDER[: target + 1]
            if target >= 2 and rng.random() < 0.05:
                # A product that went back from maturity to growth once, then on again.
                path = [*path[:3], "growth", *path[2:]]
            times = sorted(_moment(rng, start, end) for _ in path[1:])
            self.add(
                "transition",
                {
                    "product_id": product["id"],
                    "from_stage": "introduction",
                    "to_stage": "introduction",
                    "actor_id": rng.choice(actors),
                    "at": start,
                    "reason": "Added to the portfolio.",
                    "override": False,
                },
            )
            moves = []
            for prev, nxt, at in zip(path, path[1:], times, strict=False):
                back = STAGE_ORDER.index(nxt) < STAGE_ORDER.index(prev)
                self.add(
                    "transition",
                    {
                        "product_id": product["id"],
                        "from_stage": prev,
                        "to_stage": nxt,
                        "actor_id": rng.choice(actors),
                        "at": at,
                        "reason": "Adoption fell; back to growth work." if back else "",
                        "override": nxt == "retired" and rng.random() < 0.05,
                    },
                )
                moves.append((nxt, at))
            self.moves[product["id"]] = moves
            product["stage_changed_at"] = moves[-1][1] if moves else start

        live = [p["id"] for p in self.products if p["lifecycle_stage"] in STAGE_ORDER[:3]]
        plan_id = target_id = 0
        for product in self.products:
            stage = product["lifecycle_stage"]
            if stage not in ("retirement", "retired"):
                continue
            plan_id += 1
            entered = product["stage_changed_at"]
            dropped = rng.random() < 0.15
            self.add(
                "plan",
                {
                    "id": plan_id,
                    "product_id": product["id"],
                    "capability_dropped": dropped,
                    "dropped_reason": "Nobody uses the feature any more." if dropped else "",
                    "planned_end_date": (entered + dt.timedelta(days=rng.randint(60, 400))).date(),
                    "done": stage == "retired",
                    "done_at": entered if stage == "retired" else None,
                    "created_at": entered,
                    "updated_at": entered,
                },
            )
            if not dropped and live:
                for target in rng.sample(live, k=min(len(live), rng.randint(1, 2))):
                    target_id += 1
                    self.add(
                        "plan_targets",
                        {"id": target_id, "migrationplan_id": plan_id, "product_id": target},
                    )

    def _links(self) -> None:
        rng = self.rng
        n = len(self.products)
        pairs: set[tuple[int, int]] = set()
        # Platforms and infrastructure are depended on more often than systems.
        hubs = [p["id"] for p in self.products if p["kind"] in ("platform", "infrastructure")]
        dep_id = 0
        for product in self.products:
            for _ in range(min(5, int(rng.expovariate(1 / 1.5)))):
                to = rng.choice(hubs) if hubs and rng.random() < 0.6 else rng.randint(1, n)
                if to == product["id"] or (product["id"], to) in pairs:
                    continue
                pairs.add((product["id"], to))
                dep_id += 1
                self.add(
                    "dependencies",
                    {"id": dep_id, "from_product_id": product["id"], "to_product_id": to},
                )
        ext_id = 0
        for product in self.products:
            pid = product["id"]
            for source, share, fmt in (
                ("cmdb", 0.75, "CI-{:06d}"),
                ("servicenow", 0.35, "SN{:07d}"),
                ("monitoring", 0.20, "mon-{}"),
            ):
                if rng.random() < share:
                    ext_id += 1
                    self.add(
                        "external_id",
                        {
                            "id": ext_id,
                            "product_id": pid,
                            "source": source,
                            "external_id": fmt.format(pid * 7 + 100_000),
                        },
                    )

    def _history(self) -> None:
        """A '+' record per row as created; for products also one '~' record per stage move."""
        rng = self.rng
        actors = [*self.leader_user_ids, None]
        base = {"history_change_reason": None}
        for table, source in (
            ("h_person", self.people),
            ("h_team", self.teams),
            ("h_cluster", self.clusters),
            ("h_unit", self.units),
        ):
            for row in source:
                self.add(
                    table,
                    {
                        **row,
                        **base,
                        "history_date": row["created_at"],
                        "history_type": "+",
                        "history_user_id": rng.choice(actors),
                    },
                )
        for product in self.products:
            created = product["created_at"]
            first = {
                **product,
                **base,
                "lifecycle_stage": "introduction",
                "stage_changed_at": created,
                "updated_at": created,
                "history_date": created,
                "history_type": "+",
                "history_user_id": rng.choice(actors),
            }
            self.add("h_product", first)
            for stage, at in self.moves[product["id"]]:
                self.add(
                    "h_product",
                    {
                        **product,
                        **base,
                        "lifecycle_stage": stage,
                        "stage_changed_at": at,
                        "updated_at": at,
                        "history_date": at,
                        "history_type": "~",
                        "history_user_id": rng.choice(actors),
                    },
                )

    # -- backlog items ---------------------------------------------------------------------

    def _backlog(self) -> None:
        """Backlog items as COPY text lines (no dicts: L has half a million of them).

        Own seeded rng, so adding items leaves the rest of the portfolio as it was. Items sit in
        active units on a member product (the unit's component); a retired product's items are
        done or declined (retirement freezes a backlog). Ids follow created_at, so one unit's
        rows are spread over the table as they would be after years of use.
        """
        rng = random.Random(f"portfolio-bench-backlog-{self.size_name}")
        total, big_n = BACKLOGS[self.size_name]
        members: dict[int, list[dict]] = {}
        for product in self.products:
            members.setdefault(product["unit_id"], []).append(product)
        units = [u for u in self.units if u["is_active"] and u["id"] in members]

        def live(unit: dict) -> int:
            return sum(p["lifecycle_stage"] != "retired" for p in members[unit["id"]])

        # The big backlog: the cluster unit with the most live components (lowest id on ties);
        # the small one: the first live single-product unit.
        big = max((u for u in units if u["kind"] == "cluster"), key=lambda u: (live(u), -u["id"]))
        small = next(u for u in units if u["kind"] == "product" and live(u) and u is not big)
        rest = [u for u in units if u is not big and u is not small]
        rng.shuffle(rest)
        counts = {big["id"]: big_n, small["id"]: SMALL_BACKLOG}
        spread = _zipf_sizes(total - big_n - SMALL_BACKLOG, len(rest), minimum=0, s=0.9)
        for unit, n in zip(rest, spread, strict=True):
            counts[unit["id"]] = n
        self.backlog_units = {"big": big["id"], "small": small["id"]}
        self.backlog_counts = counts

        descriptions = ["", "", *(_text(rng, rng.randint(1, 3), d) for d in DOMAINS * 6)]
        descriptions = [d.translate(_ESCAPE) for d in descriptions]  # COPY text, once
        types = ["improvement"] * 4 + ["fix"] * 3 + ["enhancement"] * 2 + ["investigation"]
        dimensions = ["improvement"] * 5 + ["operations"] * 3 + ["support"] * 2
        sources = ["user_request"] * 5 + ["support_pattern"] * 2 + ["review_action"] * 2
        sources += ["incident"]
        open_statuses = ["proposed"] * 5 + ["ready"] * 4 + ["in_progress"] * 2
        verbs = _words("Speed up Simplify Automate Fix Replace Review Document Migrate Split")
        objects = [f"{v.lower()} {o}" for v in USE_VERBS for o in USE_OBJECTS]
        today = TODAY.timestamp()
        span = 7 * 365 * 86400
        lines: list[tuple[float, str]] = []
        # UTC ISO timestamps from tables (what datetime's isoformat gives, several times
        # faster: XL writes two million items).
        clock = [f"{h:02d}:{m:02d}:{s:02d}+00:00" for h in range(24) for m in range(60)
                 for s in range(60)]  # fmt: skip
        days: dict[int, str] = {}
        epoch = dt.date(1970, 1, 1).toordinal()

        def ts(seconds: float) -> str:
            day, second = divmod(int(seconds), 86400)
            date = days.get(day)
            if date is None:
                date = days[day] = dt.date.fromordinal(epoch + day).isoformat() + "T"
            return date + clock[second]

        status_stats: dict[str, int] = {}
        for unit_id, n in counts.items():
            products = members[unit_id]
            if unit_id in self.backlog_units.values():
                products = [p for p in products if p["lifecycle_stage"] != "retired"]
            for k in range(n):
                product = products[int(rng.random() * len(products))]
                created = today - rng.random() ** 2 * span  # more new items than old ones
                updated = created + rng.random() * (today - created)
                age = (today - created) / span
                if product["lifecycle_stage"] == "retired":
                    status = "done" if rng.random() < 0.6 else "declined"
                elif rng.random() < 0.15 + 0.6 * age:  # old items are mostly finished
                    status = "done" if rng.random() < 0.8 else "declined"
                else:
                    status = open_statuses[int(rng.random() * len(open_statuses))]
                status_stats[status] = status_stats.get(status, 0) + 1
                started = (
                    ts(created + rng.random() * (updated - created))
                    if status in ("in_progress", "done")
                    else "\\N"
                )
                finished = ts(updated) if status in ("done", "declined") else "\\N"
                estimate = "\\N" if rng.random() < 0.3 else f"{rng.randint(1, 400) / 10:.1f}"
                title = (
                    f"{verbs[int(rng.random() * len(verbs))]} "
                    f"{objects[int(rng.random() * len(objects))]} in {product['name']}"
                )
                line = "\t".join(
                    (
                        str(unit_id),
                        str(product["id"]),
                        title,
                        descriptions[int(rng.random() * len(descriptions))],
                        types[int(rng.random() * len(types))],
                        dimensions[int(rng.random() * len(dimensions))],
                        status,
                        str((k + 1) * RANK_GAP),
                        estimate,
                        sources[int(rng.random() * len(sources))],
                        ts(created),
                        ts(updated),
                        started,
                        finished,
                        str(1 + int(rng.random() ** 3 * 6)),
                    )
                )
                lines.append((created, line))
        lines.sort(key=lambda pair: pair[0])
        self.backlog_lines = [line for _, line in lines]
        self.backlog_statuses = status_stats

    def _funding(self) -> None:
        """This fiscal year's allocation for every current unit and about two investment
        requests per unit across the statuses.

        Own seeded rng, like the backlog. Mature units get more operations than improvement
        money, units with a member in introduction or growth the other way round; a unit of
        project items is funded per project; a unit nobody accountable owns is mostly funded
        reactively (no improvement money), and a few others too. Requests follow the rules:
        approved by the rules only at or below the threshold and within what is left of the
        improvement money, approved by a leader (another user than the requester) above it,
        even beyond the capacity (a leader may), otherwise waiting, rejected, withdrawn or a
        draft.
        """
        rng = random.Random(f"portfolio-bench-funding-{self.size_name}")
        year = FUNDING_YEAR
        start = dt.datetime(year, 1, 6, 9, 0, tzinfo=dt.UTC)
        threshold = FUNDING_THRESHOLD
        people = {p["id"]: p for p in self.people}
        users = {u["id"]: u for u in self.rows["user"]}
        members: dict[int, list[dict]] = {}
        for product in self.products:
            members.setdefault(product["unit_id"], []).append(product)

        def accountable(person_id: int | None) -> bool:
            person = people.get(person_id)
            if person is None or not person["active"]:
                return False
            user = users.get(person["user_id"])
            return user is None or user["is_active"]

        purposes = _words("Automate Replace Extend Speed-up Consolidate Harden Modernise Open-up")
        stats: dict[str, int] = {}
        modes: dict[str, int] = {}
        request_id = 0
        for unit in self.units:
            if not unit["is_active"] or unit["id"] not in members:
                continue
            products = members[unit["id"]]
            live = [p for p in products if p["lifecycle_stage"] != "retired"] or products
            growing = any(p["lifecycle_stage"] in ("introduction", "growth") for p in live)
            projects = all(p["management_model"] == "project" for p in live)
            scale = 40_000 * len(live) ** 0.8
            operations = rng.lognormvariate(math.log(scale), 0.5)
            improvement = operations * (rng.uniform(0.7, 1.5) if growing else rng.uniform(0.1, 0.4))
            if projects:
                mode = "project"
                operations, improvement = operations * 0.1, operations * rng.uniform(2, 5)
            elif not accountable(unit["owner_id"]) and rng.random() < 0.7 or rng.random() < 0.05:
                mode, improvement = "reactive", 0.0
            else:
                mode = "capacity"
            modes[mode] = modes.get(mode, 0) + 1
            set_at = _moment(rng, start - dt.timedelta(days=40), start)
            self.add(
                "allocation",
                {
                    "id": len(self.rows.get("allocation", [])) + 1,
                    "unit_id": unit["id"],
                    "fiscal_year": year,
                    "operations_amount": f"{round(operations, -2):.2f}",
                    "improvement_amount": f"{round(improvement, -2):.2f}",
                    "mode": mode,
                    "note": "",
                    "created_at": set_at,
                    "updated_at": set_at,
                },
            )
            owner = people.get(unit["owner_id"])
            asker = owner["user_id"] if owner and accountable(owner["id"]) else None
            if asker is None or mode == "reactive" and rng.random() < 0.7:
                continue  # nobody to ask, or nobody who plans: neglected units rarely ask
            room = round(improvement, -2)
            for _ in range(rng.choice((0, 1, 2, 2, 2, 3, 3, 4))):
                product = rng.choice(live)
                big = rng.random() < 0.12
                if big:
                    amount = round(rng.uniform(threshold + 500, 4 * threshold), -2)
                else:
                    typical = max(room / 4, 2_000.0)  # what is left shapes what is asked
                    amount = min(round(rng.lognormvariate(math.log(typical), 0.6), -2), threshold)
                    amount = max(amount, 500.0)
                status = _weighted(rng, REQUEST_STATUSES)
                auto = False
                if status == "approved":
                    if not big and amount <= room:
                        auto = True
                    elif not big:
                        status = "submitted"  # beyond capacity: waits for a leader
                if status == "approved":
                    room -= amount
                created = _moment(rng, start, TODAY - dt.timedelta(days=2))
                submitted = None if status == "draft" else created + dt.timedelta(hours=2)
                decided = None
                if status in ("approved", "rejected", "withdrawn"):
                    decided = submitted if auto else _moment(rng, submitted, TODAY)
                decider = None
                if decided is not None:
                    decider = (
                        asker if auto or status == "withdrawn" else rng.choice(self.leader_user_ids)
                    )
                reason = {
                    "approved": "Within the threshold and the capacity." if auto else "Agreed.",
                    "rejected": "Not this year.",
                    "withdrawn": "Withdrawn.",
                    "submitted": "Waiting for a leader.",
                }.get(status, "")
                request_id += 1
                stats[status] = stats.get(status, 0) + 1
                self.add(
                    "request",
                    {
                        "id": request_id,
                        "unit_id": unit["id"],
                        "product_id": product["id"],
                        "fiscal_year": year,
                        "amount": f"{amount:.2f}",
                        "purpose": f"{rng.choice(purposes).replace('-', ' ')} "
                        f"{product['name']}: {_text(rng, 1, product['name'])}",
                        "metric_id": None,
                        "expected_effect": "",
                        "status": status,
                        "requested_by_id": asker,
                        "submitted_at": submitted,
                        "decided_at": decided,
                        "decided_by_id": decider,
                        "decision_reason": reason,
                        "auto_approved": auto,
                        "version": 1 + (submitted is not None) + (decider is not None and not auto),
                        "created_at": created,
                        "updated_at": decided or submitted or created,
                    },
                )
        self.funding_modes = modes
        self.request_statuses = stats


# --- Metrics and readings ---------------------------------------------------------------------

# Readings in all per size; the one-year chart's 5-minute metric (CHART_READINGS of them) is
# the same at every size, so the chart figure compares like with like and only the table
# around it grows. Daily, weekly, monthly and quarterly metrics have METRIC_HISTORY_DAYS of
# readings; the hourly ones share what is left of the total, each ending at "today".
READINGS: dict[str, int] = {"S": 150_000, "M": 400_000, "L": 2_000_000, "XL": 20_000_000}
METRIC_HISTORY_DAYS: dict[str, int] = {"S": 60, "M": 120, "L": 365, "XL": 365}
CHART_DAYS = 365
CHART_STEP = dt.timedelta(minutes=5)
CHART_READINGS = CHART_DAYS * 24 * 12  # 105,120
CHART_KEY = "checkout-latency"
READINGS_TABLE = "metrics_reading"
READINGS_COLUMNS = "metric_id, taken_at, value, source, created_at, updated_at"
ROLLUPS_TABLE = "metrics_readingrollup"
ROLLUPS_COLUMNS = "metric_id, grain, bucket_start, count, sum, min, max, last_value, last_taken_at"
SOURCE_BY_DIMENSION = {
    "operations": "monitoring",
    "support": "service-desk",
    "improvement": "owner",
}
# Story shares: most metrics are fine; some slip, a few are red, stopped or never fed.
METRIC_STORIES = [("green", 0.80), ("amber", 0.08), ("red", 0.04), ("stale", 0.05), ("none", 0.03)]


def _interval_text(interval: dt.timedelta) -> str:
    return f"{int(interval.total_seconds())} seconds"


class MetricPlan:
    """One metric's rows and how its readings are spread (kept light: L has ~15,000)."""

    __slots__ = ("row", "every", "count", "offset", "stops", "level", "noise", "fmt", "source")

    def __init__(self, row: dict, every: str, level: float, noise: float, decimals: int):
        self.row = row
        self.every = every  # "5min", "hourly", "daily", "weekly", "monthly", "quarterly"
        self.count = 0  # hourly: how many readings back from today
        self.offset = 0  # day (or hour of day for daily) of its slot
        self.stops = None  # day index after which no reading comes (stale)
        self.level = level
        self.noise = noise
        self.fmt = f"{{:.{decimals}f}}"
        self.source = SOURCE_BY_DIMENSION[row["dimension"]]


def plan_metrics(portfolio: Portfolio) -> list[MetricPlan]:
    """3-5 catalogue metrics on most live product-managed products (some fewer), none on
    projects and retired products; one product also carries the 5-minute chart metric."""
    from metrics.catalogue import BY_KEY

    rng = random.Random(f"portfolio-bench-metrics-{portfolio.size_name}")
    history = METRIC_HISTORY_DAYS[portfolio.size_name]
    every_of = {3600: "hourly", 86400: "daily", 604800: "weekly"}
    every_of.update({30 * 86400: "monthly", 91 * 86400: "quarterly"})
    plans: list[MetricPlan] = []
    live = [
        p
        for p in portfolio.products
        if p["management_model"] == "product" and p["lifecycle_stage"] != "retired"
    ]
    chart_product = live[0]["id"]
    for product in live:
        keys = []
        if rng.random() < 0.9:
            keys.append("availability")
        if rng.random() < 0.8:
            keys.append(rng.choice(["response-time", "error-rate"]))
        if rng.random() < 0.8:
            keys.append("support-tickets")
        if rng.random() < 0.4:
            keys.append("mttr")
        if rng.random() < 0.85:
            keys.append(rng.choice(["cycle-time-reduction", "cost-avoidance", "adoption-rate",
                                    "business-outcome"]))  # fmt: skip
        for key in keys:
            t = BY_KEY[key]
            sign = 1 if t.better == "higher" else -1
            story = _weighted(rng, METRIC_STORIES)
            step = abs(t.target - t.warning)
            level = {
                "green": t.target + sign * step * rng.uniform(0, 0.5),
                "amber": (t.warning + t.critical) / 2,
                "red": t.critical - sign * abs(t.critical - t.warning) * rng.uniform(0.2, 0.8),
            }.get(story, t.target)
            created = max(product["created_at"], TODAY - dt.timedelta(days=history + 30))
            row = {
                "id": len(plans) + 1,
                "product_id": product["id"],
                **{k: v for k, v in t.defaults().items() if k != "expected_interval"},
                "expected_interval": _interval_text(t.interval),
                "last_value": None,
                "last_read_at": None,
                "created_at": created,
                "updated_at": created,
            }
            plan = MetricPlan(row, every_of[int(t.interval.total_seconds())], level,
                              step / 4, 0 if key == "support-tickets" else 2)  # fmt: skip
            period = {"weekly": 7, "monthly": 30, "quarterly": 91}.get(plan.every, 24)
            plan.offset = rng.randrange(period)
            if story == "stale":
                plan.stops = rng.randint(20, 90)  # days ago the feed stopped
            elif story == "none":
                plan.every = "never"
            plans.append(plan)
        if product["id"] == chart_product:
            row = {
                **plans[-1].row,
                "id": len(plans) + 1,
                "product_id": product["id"],
                "key": CHART_KEY,
                "name": "Checkout latency (p95, every 5 minutes)",
                "template": "",
                "description": "Synthetic probe of the checkout page, every five minutes.",
                "level": "operational",
                "dimension": "operations",
                "unit": "ms",
                "better": "lower",
                "target": 300.0,
                "warning": 500.0,
                "critical": 1000.0,
                "expected_interval": _interval_text(CHART_STEP),
                "created_at": TODAY - dt.timedelta(days=CHART_DAYS + 5),
                "updated_at": TODAY - dt.timedelta(days=CHART_DAYS + 5),
            }
            plans.append(MetricPlan(row, "5min", 240.0, 30.0, 0))
    # The hourly metrics share the rest of the total, each back from today.
    fixed = CHART_READINGS + sum(_slots(p, history) for p in plans)
    hourly = [p for p in plans if p.every == "hourly"]
    spare = READINGS[portfolio.size_name] - fixed
    if spare < len(hourly):
        raise ValueError(f"size {portfolio.size_name}: {fixed:,} fixed readings leave no room")
    for n, plan in enumerate(hourly):
        plan.count = spare // len(hourly) + (1 if n < spare % len(hourly) else 0)
    return plans


PERIODS = {"daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91}


def _slots(plan: MetricPlan, history: int) -> int:
    """How many readings a daily-or-slower metric gets: days `left` before today (1 is the
    last day) in [1, history], after its feed stopped if it did, with left % period == offset."""
    period = PERIODS.get(plan.every)
    if period is None:
        return 0
    low = 1 if plan.stops is None else plan.stops + 1
    offset = 0 if period == 1 else plan.offset

    def upto(n: int) -> int:
        return (n - offset) // period + 1 if n >= offset else 0

    return max(0, upto(history) - upto(low - 1))


class _TextStream:
    """A file-like object over an iterator of text chunks, for `copy_expert`: the rows are
    built while PostgreSQL parses the ones already sent (one COPY, two processes busy)."""

    def __init__(self, chunks: Iterable[str]):
        self._chunks = iter(chunks)

    def read(self, size: int = -1) -> str:  # psycopg2 sends whatever one call returns
        return next(self._chunks, "")


def write_readings(cursor, portfolio: Portfolio, plans: list[MetricPlan]) -> dict[str, int]:
    """COPY the readings day by day (all metrics interleaved, as they would arrive), then
    set each metric's latest reading. Returns counts by schedule.

    One COPY streamed from a generator of ~100,000-row chunks. The loop is written for speed
    (XL writes 20 million rows): each row is one f-string from parts made once per metric or
    per time slot; the random stream is the same as a plain per-row version's.

    The hourly and daily roll-ups are summed up by the same loop, as it makes each reading,
    written to a temporary file and copied after the readings: at XL, `rollups_rebuild()`'s
    GROUP BY over the 20 million readings took most of the generation's time. `_check_rollups`
    then computes a sample of metrics again with `rollups_rebuild` and stops the generator
    if one bucket differs.
    """
    from metrics.models import Grain, Metric
    from metrics.partitions import partitions_ensure

    rng = random.Random(f"portfolio-bench-readings-{portfolio.size_name}")
    history = METRIC_HISTORY_DAYS[portfolio.size_name]
    span = max(CHART_DAYS, history, *(math.ceil(p.count / 24) for p in plans if p.count))
    start = TODAY - dt.timedelta(days=span)
    partitions_ensure(since=start)  # each month's rows go to its partition, not the default
    by_every: dict[str, list[MetricPlan]] = {}
    for plan in plans:
        by_every.setdefault(plan.every, []).append(plan)
    hourly = sorted(by_every.get("hourly", ()), key=lambda p: -p.count)
    times = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in range(0, 60, 5)]
    latest: dict[int, tuple[str, str]] = {}
    counts: dict[str, int] = dict.fromkeys(by_every, 0)
    gauss = rng.gauss
    # Per metric: its id, value format and source, looked up once.
    spec = {id(p): (p.row["id"], p.fmt[2:-1], p.source) for p in plans}
    five = [(p, *spec[id(p)]) for p in by_every.get("5min", ())]
    hourly_rows = [(p.count, p.level, p.noise, *spec[id(p)]) for p in hourly]
    # Slower schedules: for each period, the metrics due on each day of it (order kept).
    slow: list[tuple[str, int, dict[int, list[tuple]]]] = []
    for every, period in PERIODS.items():
        due: dict[int, list[tuple]] = {}
        for p in by_every.get(every, ()):
            key = 0 if period == 1 else p.offset
            due.setdefault(key, []).append((p.stops, p.level, p.noise, *spec[id(p)]))
        slow.append((every, period, due))

    # The roll-ups (metrics.rollups): a bucket of one reading is that reading four times over;
    # buckets of more keep their values (as stored: parsed from the text) until they close.
    hour_g, day_g = Grain.HOUR.value, Grain.DAY.value
    hour_vals: list[list[float]] = [[] for _ in hourly_rows]  # today's, by place in hourly_rows
    hour_last = [""] * len(hourly_rows)
    five_hour: list[list[float]] = [[] for _ in five]
    five_day: list[list[float]] = [[] for _ in five]

    def bucket(mid: int, grain: str, start: str, values: list[float], last: str) -> str:
        return (
            f"{mid}\t{grain}\t{start}\t{len(values)}\t{sum(values)!r}\t{min(values)!r}"
            f"\t{max(values)!r}\t{values[-1]!r}\t{last}\n"
        )

    def chunks() -> Iterable[str]:
        buf: list[str] = []
        add = buf.append
        rbuf: list[str] = []
        roll = rbuf.append
        for day in range(span):
            date = (start + dt.timedelta(days=day)).date().isoformat()
            midnight = f"{date} 00:00:00+00"
            left = span - day  # days before today, this one included
            in_history = left <= history
            stamp = midnight
            for i, clock in enumerate(times):  # the 5-minute metric, with a daily rhythm
                stamp = f"{date} {clock}+00"
                tails = {}
                if five and left <= CHART_DAYS:
                    for j, (plan, mid, fmt, source) in enumerate(five):
                        busy = 60 * math.sin(math.pi * i / 288) ** 2
                        text = format(max(40.0, plan.level + busy + gauss(0, 25)), fmt)
                        tail = tails.get(source) or tails.setdefault(
                            source, f"\t{source}\t{stamp}\t{stamp}\n"
                        )
                        add(f"{mid}\t{stamp}\t{text}{tail}")
                        latest[mid] = (stamp, text)
                        value = float(text)
                        five_hour[j].append(value)
                        five_day[j].append(value)
                        if i % 12 == 11:  # the hour's last reading closes its bucket
                            hour = f"{date} {i // 12:02d}:00:00+00"
                            roll(bucket(mid, hour_g, hour, five_hour[j], stamp))
                            five_hour[j].clear()
                    counts["5min"] += len(five)
                if i % 12 == 0:
                    hour = i // 12
                    hours_left = left * 24 - hour
                    n = 0
                    for k, (count, level, noise, mid, fmt, source) in enumerate(hourly_rows):
                        if hours_left > count:  # longest first: the rest have not started
                            break
                        text = format(max(0.0, gauss(level, noise)), fmt)
                        tail = tails.get(source) or tails.setdefault(
                            source, f"\t{source}\t{stamp}\t{stamp}\n"
                        )
                        add(f"{mid}\t{stamp}\t{text}{tail}")
                        latest[mid] = (stamp, text)
                        roll(
                            f"{mid}\t{hour_g}\t{stamp}\t1\t{text}\t{text}\t{text}\t{text}\t{stamp}\n"
                        )
                        hour_vals[k].append(float(text))
                        hour_last[k] = stamp
                        n += 1
                    if n:
                        counts["hourly"] += n
                    if in_history and hour == 6:
                        for every, period, due in slow:
                            n = 0
                            for stops, level, noise, mid, fmt, source in due.get(
                                0 if period == 1 else left % period, ()
                            ):
                                if stops is not None and left <= stops:
                                    continue
                                text = format(gauss(level, noise), fmt)
                                tail = tails.get(source) or tails.setdefault(
                                    source, f"\t{source}\t{stamp}\t{stamp}\n"
                                )
                                add(f"{mid}\t{stamp}\t{text}{tail}")
                                latest[mid] = (stamp, text)
                                one = f"1\t{text}\t{text}\t{text}\t{text}\t{stamp}\n"
                                roll(f"{mid}\t{hour_g}\t{stamp}\t{one}")
                                roll(f"{mid}\t{day_g}\t{midnight}\t{one}")
                                n += 1
                            if n:
                                counts[every] += n
                if len(buf) >= 100_000:
                    yield "".join(buf)
                    buf.clear()
                if len(rbuf) >= 100_000:
                    rolls.write("".join(rbuf))
                    rbuf.clear()
            # The day closes: the daily buckets of the metrics read more than once a day.
            for k, values in enumerate(hour_vals):
                if values:
                    roll(bucket(hourly_rows[k][3], day_g, midnight, values, hour_last[k]))
                    values.clear()
            for j, values in enumerate(five_day):
                if values:
                    roll(bucket(five[j][1], day_g, midnight, values, stamp))
                    values.clear()
        if buf:
            yield "".join(buf)
        rolls.write("".join(rbuf))

    with tempfile.TemporaryFile("w+", encoding="utf-8") as rolls:  # chunks() writes to it
        with _indexes_rebuilt(cursor, READINGS_TABLE):
            cursor.copy_expert(
                f"COPY {READINGS_TABLE} ({READINGS_COLUMNS}) FROM STDIN", _TextStream(chunks())
            )
        rolls.seek(0)
        with _indexes_rebuilt(cursor, ROLLUPS_TABLE):
            cursor.copy_expert(f"COPY {ROLLUPS_TABLE} ({ROLLUPS_COLUMNS}) FROM STDIN", rolls)
    sample = [mid for _, mid, _, _ in five] + [
        row[3] for row in hourly_rows[:: max(1, len(hourly_rows) // 12)]
    ]
    for _, _, due in slow:
        sample += [entry[3] for entries in list(due.values())[:2] for entry in entries[:1]]
    _check_rollups(cursor, sample)
    counts = {every: n for every, n in counts.items() if n}
    # Each metric's latest reading, as the ingest path keeps it.
    cursor.execute("CREATE TEMP TABLE bench_latest (id int, at timestamptz, value float8)")
    cursor.copy_expert(
        "COPY bench_latest FROM STDIN",
        io.StringIO("".join(f"{mid}\t{at}\t{v}\n" for mid, (at, v) in latest.items())),
    )
    table = Metric._meta.db_table
    cursor.execute(
        f"UPDATE {table} m SET last_read_at = l.at, last_value = l.value "
        "FROM bench_latest l WHERE m.id = l.id"
    )
    cursor.execute("DROP TABLE bench_latest")
    LAPS.lap("metrics: latest readings")
    return counts


def _check_rollups(cursor, metric_ids: list[int]) -> None:
    """Compute the roll-ups of these metrics again with `metrics.rollups.rollups_rebuild` (the
    production statements) and stop if one bucket differs from what the generator wrote (sums
    may differ in their last bits: they were added in another order)."""
    from metrics.rollups import rollups_rebuild

    cursor.execute(
        f"CREATE TEMP TABLE bench_rolls ON COMMIT DROP AS SELECT {ROLLUPS_COLUMNS} "
        f"FROM {ROLLUPS_TABLE} WHERE metric_id = ANY(%s)",
        [metric_ids],
    )
    rollups_rebuild(metric_ids)
    cursor.execute(
        f"""SELECT coalesce(r.metric_id, b.metric_id), coalesce(r.grain, b.grain),
                   coalesce(r.bucket_start, b.bucket_start), r.count, b.count
              FROM (SELECT * FROM {ROLLUPS_TABLE} WHERE metric_id = ANY(%s)) r
              FULL JOIN bench_rolls b USING (metric_id, grain, bucket_start)
             WHERE r.metric_id IS NULL OR b.metric_id IS NULL OR r.count <> b.count
                OR r.min <> b.min OR r.max <> b.max OR r.last_value <> b.last_value
                OR r.last_taken_at <> b.last_taken_at
                OR abs(r.sum - b.sum) > 1e-9 * greatest(1, abs(r.sum))
             LIMIT 5""",
        [metric_ids],
    )
    wrong = cursor.fetchall()
    cursor.execute("SELECT count(*) FROM bench_rolls")
    (checked,) = cursor.fetchone()
    if wrong or not checked:
        raise SystemExit(f"The generated roll-ups differ from rollups_rebuild's: {wrong}")
    LAPS.lap(f"metrics: roll-ups checked ({len(metric_ids)} metrics, {checked} buckets)")


# --- Writing: one COPY per table --------------------------------------------------------------

_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _tsv(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):  # ArrayField of plain words
        return "{" + ",".join(value) + "}"
    return str(value).translate(_ESCAPE)


def copy_rows(cursor, model, rows: list[dict[str, Any]]) -> int:
    """COPY `rows` into the model's table; columns the rows leave out get the field default."""
    if not rows:
        return 0
    from django.db import connection

    qn = connection.ops.quote_name
    given = list(rows[0])
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [c for c in given if c not in fields]
    if unknown:
        raise ValueError(f"{model._meta.db_table} has no column(s) {unknown}")
    defaults = {
        name: f.get_default()
        for name, f in fields.items()
        if name not in given and not f.primary_key and name != "history_id"
    }
    columns = given + list(defaults)
    pad = [_tsv(v) for v in defaults.values()]
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join([*(_tsv(row[c]) for c in given), *pad]))
        buf.write("\n")
    buf.seek(0)
    table = qn(model._meta.db_table)
    cursor.copy_expert(f"COPY {table} ({', '.join(qn(c) for c in columns)}) FROM STDIN", buf)
    return len(rows)


BACKLOG_TABLE = "backlog_backlogitem"
BACKLOG_COLUMNS = (
    "id, unit_id, product_id, title, description, type, dimension, status, rank, estimate, "
    "source, created_at, updated_at, started_at, finished_at, version"
)


def copy_backlog(cursor, lines: list[str]) -> int:
    """COPY the backlog items (ids 1..n in created_at order): one COPY streamed in chunks,
    its indexes built after it, no per-row foreign-key triggers (valid by construction)."""
    chunk = 50_000

    def chunks() -> Iterable[str]:
        for start in range(0, len(lines), chunk):
            yield "".join(
                f"{offset}\t{line}\n"
                for offset, line in enumerate(lines[start : start + chunk], start + 1)
            )

    cursor.execute("SET LOCAL session_replication_role = replica")
    with _indexes_rebuilt(cursor, BACKLOG_TABLE):
        cursor.copy_expert(
            f"COPY {BACKLOG_TABLE} ({BACKLOG_COLUMNS}) FROM STDIN", _TextStream(chunks())
        )
    cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    if lines:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{BACKLOG_TABLE}', 'id'), %s)", [len(lines)]
        )
    return len(lines)


@contextlib.contextmanager
def _indexes_rebuilt(cursor, table: str):
    """Drop `table`'s secondary indexes and unique constraints (not its primary key) for the
    COPY inside, then build them again from their own definitions: one sorted build per index
    instead of millions of random inserts into indexes bigger than shared_buffers. Works on a
    plain or a partitioned table (a partitioned parent's index or constraint covers its
    partitions)."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'u' ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    LAPS.lap(f"{table}: rows")
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        # A partitioned parent's index reads "ON ONLY parent": build it on the partitions too.
        cursor.execute(definition.replace(" ON ONLY ", " ON "))
    for name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    cursor.execute("RESET maintenance_work_mem")
    LAPS.lap(f"{table}: indexes")


class _Laps:
    """Seconds per step of the write (`lap(name)`: the time since the previous lap), kept in
    the generator's output and logged to stderr as they happen."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        took, self._last = now - self._last, now
        self.seconds[name] = round(self.seconds.get(name, 0) + took, 2)
        print(f"generate: {name} {took:.2f} s", file=sys.stderr, flush=True)


LAPS = _Laps()


def _models() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from funding.models import FundingAllocation, InvestmentRequest
    from products.models import (
        Cluster,
        ExternalId,
        LifecycleTransition,
        MigrationPlan,
        OwnershipUnit,
        Person,
        Product,
        Team,
    )

    return {
        "user": get_user_model(),
        "person": Person,
        "team": Team,
        "team_members": Team.members.through,
        "cluster": Cluster,
        "product": Product,
        "unit": OwnershipUnit,
        "transition": LifecycleTransition,
        "plan": MigrationPlan,
        "plan_targets": MigrationPlan.targets.through,
        "dependencies": Product.dependencies.through,
        "external_id": ExternalId,
        "allocation": FundingAllocation,
        "request": InvestmentRequest,
        "h_person": Person.history.model,
        "h_team": Team.history.model,
        "h_cluster": Cluster.history.model,
        "h_unit": OwnershipUnit.history.model,
        "h_product": Product.history.model,
    }


# Parents before children; products and units point at each other (deferred FKs, one commit).
ORDER = [
    "user",
    "person",
    "team",
    "team_members",
    "cluster",
    "product",
    "unit",
    "transition",
    "plan",
    "plan_targets",
    "dependencies",
    "external_id",
    "allocation",
    "request",
    "h_person",
    "h_team",
    "h_cluster",
    "h_unit",
    "h_product",
]


def write(portfolio: Portfolio) -> dict[str, int]:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from portfolio.models import PortfolioSettings
    from portfolio.permissions import LEADERS_GROUP

    models = _models()
    password = make_password(PASSWORD)
    for user in portfolio.rows["user"]:
        user["password"] = password
    counts: dict[str, int] = {}
    LAPS.__init__()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM products_product)")
            if cursor.fetchone()[0]:
                raise SystemExit("The database already holds products; generate into a new one.")
            for name in ORDER:
                model = models[name]
                rows = portfolio.rows.get(name, [])
                counts[model._meta.db_table] = copy_rows(cursor, model, rows)
            for model in models.values():
                if model._meta.pk.attname != "id" or not counts.get(model._meta.db_table):
                    continue
                table = model._meta.db_table
                if table.startswith(("portfolio_historical", "products_historical")):
                    continue  # history_id kept its own default
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            LAPS.lap("catalogue, funding and history")
            counts[BACKLOG_TABLE] = copy_backlog(cursor, portfolio.backlog_lines)
            from metrics.models import Metric

            metric_table = Metric._meta.db_table
            counts[metric_table] = copy_rows(
                cursor, Metric, [p.row for p in portfolio.metric_plans]
            )
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{metric_table}', 'id'), "
                f"(SELECT max(id) FROM {metric_table}))"
            )
            # The readings are valid by construction: skip the per-row foreign-key trigger
            # (a superuser setting, local to this transaction); at M 5.6 s became 3.8 s.
            cursor.execute("SET LOCAL session_replication_role = replica")
            LAPS.lap("metrics")
            by_every = write_readings(cursor, portfolio, portfolio.metric_plans)
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            portfolio.readings_by_every = by_every
            counts[READINGS_TABLE] = sum(by_every.values())
        leaders, _ = Group.objects.get_or_create(name=LEADERS_GROUP)
        leaders.user_set.add(*portfolio.leader_user_ids)
        PortfolioSettings.load()
    LAPS.lap("commit")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    LAPS.lap("VACUUM ANALYZE")
    return counts


def summary(portfolio: Portfolio) -> dict[str, Any]:
    """What makes the shape realistic, counted from the rows (printed and kept with results)."""
    units = [u for u in portfolio.units if u["is_active"]]
    people = {p["id"]: p for p in portfolio.people}
    users = {u["id"]: u for u in portfolio.rows["user"]}
    load: dict[int, int] = {}
    for unit in units:
        if unit["owner_id"] is not None:
            load[unit["owner_id"]] = load.get(unit["owner_id"], 0) + 1

    def orphan(u: dict) -> bool:
        person = people.get(u["owner_id"])
        if person is None:
            return True
        user = users.get(person["user_id"])
        return not person["active"] or (user is not None and not user["is_active"])

    stages: dict[str, int] = {}
    for p in portfolio.products:
        stages[p["lifecycle_stage"]] = stages.get(p["lifecycle_stage"], 0) + 1
    return {
        "products": len(portfolio.products),
        "people": len(portfolio.people),
        "clusters": len(portfolio.clusters),
        "teams": len(portfolio.teams),
        "largest_clusters": sorted(portfolio.cluster_sizes, reverse=True)[:5],
        "smallest_cluster": min(portfolio.cluster_sizes),
        "active_units": len(units),
        "orphan_units": sum(orphan(u) for u in units),
        "owners_over_ceiling_4": sum(1 for n in load.values() if n > 4),
        "stable_keepers": len(portfolio.keepers),
        "max_units_one_owner": max(load.values(), default=0),
        "stages": stages,
        "projects": sum(p["management_model"] == "project" for p in portfolio.products),
        "external_ids": len(portfolio.rows.get("external_id", [])),
        "new_last_60_days": sum(
            p["created_at"] > TODAY - dt.timedelta(days=60) for p in portfolio.products
        ),
        "backlog_items": len(portfolio.backlog_lines),
        # The units the backlog figures use (bench/run.py reads them from here).
        "backlog_big_unit": portfolio.backlog_units["big"],
        "backlog_big_items": portfolio.backlog_counts[portfolio.backlog_units["big"]],
        "backlog_small_unit": portfolio.backlog_units["small"],
        "backlog_small_items": portfolio.backlog_counts[portfolio.backlog_units["small"]],
        "backlog_largest": sorted(portfolio.backlog_counts.values(), reverse=True)[:5],
        "backlog_units_with_items": sum(1 for n in portfolio.backlog_counts.values() if n),
        "backlog_statuses": dict(sorted(portfolio.backlog_statuses.items())),
        "metrics": len(portfolio.metric_plans),
        "metric_products": len({p.row["product_id"] for p in portfolio.metric_plans}),
        "readings": sum(getattr(portfolio, "readings_by_every", {}).values()),
        "readings_by_schedule": dict(sorted(getattr(portfolio, "readings_by_every", {}).items())),
        "metric_history_days": METRIC_HISTORY_DAYS[portfolio.size_name],
        # The one-year chart figure's metric (bench/run.py reads it from here).
        "chart_metric": next(p.row["id"] for p in portfolio.metric_plans if p.every == "5min"),
        "chart_readings": CHART_READINGS,
        # The funding figures' year (bench/run.py reads it from here).
        "funding_year": FUNDING_YEAR,
        "funding_allocations": len(portfolio.rows.get("allocation", [])),
        "funding_modes": dict(sorted(portfolio.funding_modes.items())),
        "investment_requests": len(portfolio.rows.get("request", [])),
        "request_statuses": dict(sorted(portfolio.request_statuses.items())),
    }


def generate(size_name: str) -> dict[str, Any]:
    started = time.perf_counter()
    portfolio = Portfolio(size_name).build()
    built = time.perf_counter()
    counts = write(portfolio)
    done = time.perf_counter()
    return {
        "size": size_name,
        "seconds": round(done - started, 3),
        "build_seconds": round(built - started, 3),
        "write_seconds": round(done - built, 3),
        "write_steps": LAPS.seconds,
        "rows": counts,
        "shape": summary(portfolio),
    }


def main(argv: Iterable[str]) -> None:
    import django

    args = list(argv)
    if len(args) != 1 or args[0].upper() not in SIZES:
        raise SystemExit(f"usage: python -m bench.generate {{{'|'.join(SIZES)}}}")
    django.setup()
    print(json.dumps(generate(args[0].upper())))


if __name__ == "__main__":
    main(sys.argv[1:])
