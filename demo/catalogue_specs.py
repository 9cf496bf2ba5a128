"""The shape of the demo catalogue's definition: one frozen spec per person, team, cluster
and product, and the short names the lists in `catalogue_people` and `catalogue_products`
use for stages and cluster reasons."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field

from products.models import ClusterReason, Stage

EMAIL_DOMAIN = "example.org"

SAME_USERS = ClusterReason.SAME_USERS.value
SAME_DOMAIN = ClusterReason.SAME_DOMAIN.value
TECH = ClusterReason.TECHNICAL_DEPENDENCY.value

INTRO, GROWTH, MATURITY = Stage.INTRODUCTION.value, Stage.GROWTH.value, Stage.MATURITY.value
RETIREMENT, RETIRED = Stage.RETIREMENT.value, Stage.RETIRED.value


@dataclass(frozen=True)
class PersonSpec:
    username: str
    name: str
    title: str
    login: bool = True
    leader: bool = False
    departed_days_ago: int | None = None
    login_disabled: bool = False

    @property
    def email(self) -> str:
        ascii_name = unicodedata.normalize("NFKD", self.name).encode("ascii", "ignore").decode()
        first, *rest = ascii_name.lower().replace("'", "").split()
        return f"{first}.{rest[-1]}@{EMAIL_DOMAIN}" if rest else f"{first}@{EMAIL_DOMAIN}"


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    description: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class ClusterSpec:
    slug: str
    name: str
    owner: str | None
    reasons: tuple[str, ...]
    description: str
    reason_note: str = ""


@dataclass(frozen=True)
class Retirement:
    """How a product leaves: its targets (slugs) or a dropped capability, and the plan's end."""

    targets: tuple[str, ...] = ()
    dropped_reason: str = ""
    ends_in_days: int = 0
    override_reason: str = ""  # set: retired by a leader before the plan was done


@dataclass(frozen=True)
class ProductSpec:
    slug: str
    name: str
    kind: str
    description: str
    user_groups: tuple[str, ...]
    user_count: int | None
    use_cases: tuple[str, ...]
    capabilities: tuple[str, ...]
    team: str | None
    cluster: str | None = None
    owner: str | None = None  # for a product in a unit of its own
    path: tuple[str, ...] = (MATURITY,)
    criticality: str = "medium"
    strategic: bool = False
    significant_change: bool = False
    depends_on: tuple[str, ...] = ()
    in_cmdb: bool = True
    project_ends_in_days: int | None = None
    retirement: Retirement | None = None
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def stage(self) -> str:
        return self.path[-1]

    @property
    def cmdb_id(self) -> str:
        # Stable per slug, so adding a product never renumbers the others.
        return f"CI-{int(hashlib.sha256(self.slug.encode()).hexdigest(), 16) % 90000 + 10000}"
