"""The demo portfolio: an IT organisation part-way through moving from projects to products.

`build()` makes it through the services, acting as the demo leader, so every write leaves the
same history and lifecycle records a person's would. It is deterministic (fixed lists; the
readings' noise comes from a random generator seeded per metric; dates are counted from the
day of the first build and kept afterwards) and idempotent: people are keyed on email,
logins on username, teams, clusters and products on slug. A second build reuses what
exists, brings changed fields back to the definition and creates nothing twice.

What the data is meant to show, so each page has something to say:
- nine clusters, one of them grouped for no reason ("they are all small"), which is flagged;
- every lifecycle stage, with recorded transitions: products in retirement with migration
  plans, retired ones (one retired by a leader's override, its capability dropped), and a
  reinvestment that moved a mature product back into growth;
- owners at every load: Priya Raman carries two actively evolving units and three stable
  ones (over the ceiling, triaging), Jonas Weber one active and four stable (over), Mei Chen
  one active and three stable (at the ceiling);
- orphans: two products nobody owns, three owned by people who left, one whose owner's login
  is switched off;
- project-managed items with end dates (switches, a server refresh, a one-time data import, a
  compliance deadline, an archive migration);
- strategic products, CMDB ids and a web of dependencies;
- a backlog for every product-managed unit, with finished, running and waiting work across
  improvement, operations and support; two crowded clusters (data and analytics, customer
  engagement: one member holds most of the open estimate while another has finished nothing
  for months) and stale items nobody touched for over half a year. Items are keyed on
  (unit, title);
- metrics from the catalogue on every product-managed product (three to five across
  improvement, operations and support for most; seven products fall short, go over or have
  none, so the coverage warning shows) with six months of readings at each metric's
  interval: steady ones, three gone red, six amber, three whose feed stopped weeks ago
  (stale), one defined but never measured (no data), and a few that recovered. Metrics are
  keyed on (product, key); a later build adds only the readings that came due since;
- funding for this fiscal year: an allocation for every unit (running costs ahead for the
  mature platforms, improvement money ahead for the growing products, the neglected units
  funded reactively and the project-managed items per project; last year's for three units,
  to show the move off projects and fixes) and investment requests asked by each unit's
  owner, following last quarter's review decisions: a dozen approved by the rules, one
  approved and two rejected by the leader with reasons, one withdrawn, and four in the
  leaders' queue (three above the governance threshold, two of them on cluster members that
  are not flagged strategic, and one that only the unit's capacity stops). Allocations are
  keyed on (unit, year), requests on (product, year, purpose);
- the portfolio analytics, computed as the hourly job does (after the funding, so reactive
  funding shows among the candidates and big requests as strategic signals): three weekly
  snapshots before the first build and one from today, so the dashboard opens with a past.
  Jonas and Priya are over the ceiling in every one of them (a portfolio design problem, with
  the units they could run as one cluster), crowding has been seen in enough weeks to open a
  signal, one member takes most of the operations work in a few clusters, strategic members
  are flagged, and the orphans lead the "where to start" list;
- quarterly reviews: last quarter's cycle held in full (every review closed with one or two
  decisions, every kind among them, and action items since done by hand, finished or under
  way on the backlog, or not done at all), and this quarter's scheduled over the ten working
  days from today (a few within the reminder's reach, none held), every packet ready and the
  first day's printed, each showing last quarter's decisions and their follow-through.
  Cycles are keyed on the quarter, reviews on (cycle, unit); a held review is never touched
  again.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import itertools
import os
import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from backlog.models import BacklogItem, ItemStatus
from backlog.services import backlog_item_create, backlog_item_update
from metrics.catalogue import BY_KEY
from metrics.models import Better, Metric
from metrics.services import MAX_READINGS, metric_create, metric_update, readings_ingest
from portfolio.analytics.compute import run_snapshot
from portfolio.analytics.models import Snapshot, SnapshotStatus, Trigger
from portfolio.errors import RuleViolation
from portfolio.funding.models import (
    FundingAllocation,
    FundingMode,
    InvestmentRequest,
    RequestStatus,
)
from portfolio.funding.services import (
    allocation_set,
    request_approve,
    request_create,
    request_reject,
    request_withdraw,
)
from portfolio.models import Cluster, ClusterReason, Person, PortfolioSettings, Team
from portfolio.permissions import LEADERS_GROUP
from portfolio.services import (
    cluster_create,
    cluster_update,
    person_create,
    person_update,
    team_create,
    team_update,
)
from products.models import (
    LifecycleTransition,
    ManagementModel,
    OwnershipUnit,
    Product,
    Stage,
)
from products.services import (
    MigrationPlanInput,
    migration_plan_mark_done,
    product_create,
    product_set_cluster,
    product_transition,
    product_update,
    unit_assign_owner,
)
from reviews.models import (
    ActionItem,
    CycleStatus,
    Decision,
    Packet,
    PacketStatus,
    Review,
    ReviewCycle,
    ReviewStatus,
)
from reviews.packets import build_packet_data, previous_quarter, render_packet_html
from reviews.services import (
    action_item_create,
    action_item_set_done,
    action_item_to_backlog,
    cycle_close,
    cycle_generate_packets,
    cycle_schedule,
    decision_record,
    review_close,
)
from reviews.tasks import generate_packet, render_pdf

DEFAULT_PASSWORD = "demo-pass-2026"
# A fixed salt makes the stored hash the same on every run, so a re-run can tell whether a
# demo login still has the demo password without hashing once per user. Demo data only. It is
# long enough (over 128 bits) that Django does not re-hash it with a new salt at each login.
_DEMO_SALT = "itPortfolioDemoLoginSalt2026"
EMAIL_DOMAIN = "example.org"
CMDB = "cmdb"

SAME_USERS = ClusterReason.SAME_USERS.value
SAME_DOMAIN = ClusterReason.SAME_DOMAIN.value
TECH = ClusterReason.TECHNICAL_DEPENDENCY.value

INTRO, GROWTH, MATURITY = Stage.INTRODUCTION.value, Stage.GROWTH.value, Stage.MATURITY.value
RETIREMENT, RETIRED = Stage.RETIREMENT.value, Stage.RETIRED.value


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD


# --- People --------------------------------------------------------------------------------


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


PEOPLE = [
    PersonSpec("leader", "Helena Brandt", "Head of the IT product portfolio", leader=True),
    PersonSpec("owner", "Nora Lindqvist", "Product owner, employee experience"),
    PersonSpec("viewer", "Viktor Sandberg", "Business analyst, finance"),
    PersonSpec("priya", "Priya Raman", "Product owner, data and analytics"),
    PersonSpec("tomas", "Tomás Herrera", "Product owner, integration platforms"),
    PersonSpec("amara", "Amara Nwosu", "Product owner, identity and access"),
    PersonSpec("jonas", "Jonas Weber", "Product owner, finance systems"),
    PersonSpec("mei", "Mei Chen", "Product owner, workplace collaboration"),
    PersonSpec("lukas", "Lukas Novak", "Product owner, customer systems"),
    PersonSpec("sofia", "Sofia Marquez", "Product owner, IT service management"),
    PersonSpec("ahmed", "Ahmed Haddad", "Infrastructure delivery lead"),
    PersonSpec("grace", "Grace O'Neill", "Facilities applications coordinator"),
    PersonSpec("marek", "Marek Kowalski", "Facilities systems specialist", login_disabled=True),
    PersonSpec("ben", "Ben Carter", "Platform engineer"),
    PersonSpec("leila", "Leila Farah", "Data engineer"),
    PersonSpec("chloe", "Chloé Dubois", "Service desk analyst"),
    PersonSpec("ravi", "Ravi Patel", "Integration developer"),
    PersonSpec("hannah", "Hannah Schmidt", "HR systems analyst"),
    PersonSpec("daniel", "Daniel Foster", "Procurement systems owner", login=False,
               departed_days_ago=62),
    PersonSpec("ingrid", "Ingrid Holm", "Legal applications owner", login=False,
               departed_days_ago=210),
]  # fmt: skip
ADMIN_USERNAME = "admin"

# One login per role, printed by `make demo`.
ROLE_LOGINS = [
    ("portfolio leader", "leader"),
    ("product owner", "owner"),
    ("viewer", "viewer"),
]


# --- Teams ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    description: str
    members: tuple[str, ...]


TEAMS = [
    TeamSpec("people-systems", "People systems",
             "Builds and runs the tools employees meet from their first day to their last.",
             ("owner", "hannah")),
    TeamSpec("data-platform", "Data platform",
             "Looks after the warehouse, the pipelines that feed it and the reports on top.",
             ("priya", "leila")),
    TeamSpec("integration", "Integration",
             "Keeps systems talking to each other: the bus, the gateway and file transfers.",
             ("tomas", "ravi")),
    TeamSpec("identity", "Identity and access",
             "Sign-in, directories and who may reach what.", ("amara", "ben")),
    TeamSpec("finance-applications", "Finance applications",
             "Payroll, the ledger, purchasing and expenses.", ("jonas", "viewer")),
    TeamSpec("workplace", "Workplace",
             "Mail, chat, documents and the small tools that run the buildings.",
             ("mei", "grace", "marek")),
    TeamSpec("customer-systems", "Customer systems",
             "Everything a customer or a contact-centre agent touches.", ("lukas",)),
    TeamSpec("service-management", "Service management",
             "The catalogue, the service desk tooling and the configuration database.",
             ("sofia", "chloe")),
    TeamSpec("infrastructure", "Infrastructure",
             "Networks, servers and storage, delivered as planned pieces of work.",
             ("ahmed", "ben")),
]  # fmt: skip


# --- Clusters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterSpec:
    slug: str
    name: str
    owner: str | None
    reasons: tuple[str, ...]
    description: str
    reason_note: str = ""


CLUSTERS = [
    ClusterSpec(
        "employee-experience", "Employee experience", "owner", (SAME_USERS, SAME_DOMAIN),
        "The services every employee uses to find information, handle HR matters and start "
        "or leave a job, run as one offer with one front door.",
        "All staff are the users, and the journeys cross from one tool to the next.",
    ),
    ClusterSpec(
        "data-analytics", "Data and analytics", "priya", (SAME_DOMAIN, TECH),
        "From raw extracts to the dashboards management reads: the warehouse, the pipelines "
        "that load it, the reference data and the reporting layer.",
        "Each layer feeds the next; a change in one is felt in the others.",
    ),
    ClusterSpec(
        "integration-platforms", "Integration platforms", "tomas", (TECH,),
        "The shared plumbing other systems rely on to exchange data, inside the company and "
        "with partners.",
        "Every member is a dependency of dozens of systems and is changed by the same people.",
    ),
    ClusterSpec(
        "identity-access", "Identity and access", "amara", (TECH, SAME_DOMAIN),
        "Who people are, how they sign in and what they may reach, from joiner to leaver.",
        "Sign-on, privileged access and access reviews all read the same directory.",
    ),
    ClusterSpec(
        "finance-systems", "Finance systems", "jonas", (SAME_DOMAIN, SAME_USERS),
        "Paying people and suppliers, keeping the books and reimbursing expenses.",
        "The finance department uses all of them, and month-end touches every one.",
    ),
    ClusterSpec(
        "workplace-collaboration", "Workplace collaboration", "mei", (SAME_USERS,),
        "How colleagues write to, talk with and share work with each other.",
        "The same everyday users, who see these tools as one workplace.",
    ),
    ClusterSpec(
        "customer-engagement", "Customer engagement", "lukas", (SAME_DOMAIN, TECH),
        "What customers and the agents serving them use: records, the portal, the phones "
        "and the feedback loop.",
        "One customer record sits under every member.",
    ),
    ClusterSpec(
        "it-service-management", "IT service management", "sofia", (SAME_DOMAIN,),
        "How the rest of the company asks IT for things and gets help: the catalogue, the "
        "desk, the knowledge that answers questions and the record of what is installed.",
        "One service process runs end to end across these tools.",
    ),
    ClusterSpec(
        "workplace-odds-and-ends", "Workplace odds and ends", "grace", (),
        "Small building tools that were put together when each looked too small to own.",
        "Grouped because each one is small.",
    ),
]  # fmt: skip


# --- Products ------------------------------------------------------------------------------


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


P = ProductSpec
R = Retirement

PRODUCTS: list[ProductSpec] = [
    # Employee experience (Nora Lindqvist) ------------------------------------------------
    P("hr-self-service-portal", "HR self-service portal", "system",
      "Where employees check payslips, book leave and update their own details without "
      "emailing HR. It still runs on an application server its vendor no longer supports, "
      "and is being moved off it.",
      ("All employees", "Line managers", "HR advisers"), 4200,
      ("Book and approve annual leave", "Download payslips and tax forms",
       "Change bank details or home address"),
      ("Employee self-service", "Absence management"),
      "people-systems", cluster="employee-experience", criticality="high",
      significant_change=True, depends_on=("single-sign-on", "payroll")),
    P("onboarding-offboarding", "Onboarding and offboarding workflow", "service",
      "Walks a new starter, a mover or a leaver through every step owned by HR, IT, "
      "facilities and legal, so that accounts, equipment, badges and contracts line up on "
      "the right day.",
      ("Hiring managers", "HR advisers", "IT service desk", "Facilities team"), 900,
      ("Prepare laptop, accounts and badge before day one",
       "Collect equipment and close access on the last day",
       "Track every task of a joiner or leaver in one place"),
      ("Workforce onboarding", "Access lifecycle"),
      "people-systems", cluster="employee-experience", path=(INTRO, GROWTH),
      criticality="high", strategic=True,
      depends_on=("hr-self-service-portal", "directory-service", "service-catalogue",
                  "access-request-review"),
      reasons={GROWTH: "Piloted with two departments; rolling out company-wide with new "
               "steps for facilities and legal."}),
    P("enterprise-intranet", "Enterprise intranet", "platform",
      "The company's internal news, policies and department pages, and the usual starting "
      "point of a working day.",
      ("All employees", "Internal communications", "Department editors"), 5100,
      ("Read company news and announcements", "Find a policy or a form",
       "Publish a department page"),
      ("Internal communication",),
      "people-systems", cluster="employee-experience", depends_on=("single-sign-on",)),
    P("employee-directory", "Employee directory", "service",
      "Looks people up by name, role, team or skill, with photos and reporting lines drawn "
      "from the HR record.",
      ("All employees",), 5100,
      ("Find a colleague's phone number or desk", "See who reports to whom"),
      ("Internal communication",),
      "people-systems", cluster="employee-experience", criticality="low",
      depends_on=("directory-service",)),
    P("learning-management", "Learning management system", "system",
      "Mandatory and optional training, course bookings and the certificates that prove a "
      "course was completed.",
      ("All employees", "Learning and development team", "Compliance officers"), 4800,
      ("Complete mandatory compliance training", "Book a place on a course",
       "Report completion rates per department"),
      ("Learning and development",),
      "people-systems", cluster="employee-experience", depends_on=("single-sign-on",)),
    P("classic-intranet", "Classic intranet", "system",
      "The previous intranet, kept read-only while its pages moved to the new one; now "
      "switched off.",
      ("All employees",), 0,
      ("Read archived pages (until switch-off)",), ("Internal communication",),
      "people-systems", cluster="employee-experience",
      path=(MATURITY, RETIREMENT, RETIRED), criticality="low",
      retirement=R(targets=("enterprise-intranet",))),
    # Data and analytics (Priya Raman) -----------------------------------------------------
    P("enterprise-data-warehouse", "Enterprise data warehouse", "platform",
      "The single store of cleaned, historical business data that reports and analyses "
      "are built on.",
      ("Analysts", "Finance controllers", "Data engineers"), 320,
      ("Answer questions across sales, finance and HR data",
       "Keep seven years of history for audits"),
      ("Management information", "Regulatory reporting"),
      "data-platform", cluster="data-analytics", criticality="high", strategic=True,
      depends_on=("data-integration-pipelines",)),
    P("bi-reporting-platform", "Business intelligence and reporting platform", "platform",
      "Dashboards and scheduled reports for managers, built by analysts on top of the "
      "warehouse. Self-service report building is being rolled out.",
      ("Managers", "Analysts", "Executive team"), 1400,
      ("Follow weekly sales and margin", "Build a team's own dashboard",
       "Send the monthly board pack"),
      ("Management information",),
      "data-platform", cluster="data-analytics", path=(INTRO, GROWTH, MATURITY, GROWTH),
      criticality="high", depends_on=("enterprise-data-warehouse",),
      reasons={GROWTH: "Reinvestment: self-service reporting so that analysts stop being "
               "the queue for every new dashboard."}),
    P("data-integration-pipelines", "Data integration pipelines", "integration",
      "Scheduled extract and load jobs that bring data from source systems into the "
      "warehouse every night.",
      ("Data engineers",), 12,
      ("Load yesterday's transactions before 6 a.m.", "Re-run a failed load"),
      ("Data integration",),
      "data-platform", cluster="data-analytics", depends_on=("enterprise-service-bus",)),
    P("master-data-hub", "Master data hub", "system",
      "Keeps one agreed version of customers, suppliers and products and hands it to the "
      "systems that need it.",
      ("Data stewards", "Finance operations"), 45,
      ("Merge duplicate supplier records", "Publish a new product code to all systems"),
      ("Master data management",),
      "data-platform", cluster="data-analytics", depends_on=("enterprise-service-bus",)),
    P("data-science-workbench", "Data science workbench", "platform",
      "Notebooks and compute for the few people building forecasts and models, with "
      "governed access to warehouse data.",
      ("Data scientists", "Analysts"), 25,
      ("Build a demand forecast", "Share a notebook with a reviewer"),
      ("Advanced analytics",),
      "data-platform", owner="priya", path=(INTRO,),
      depends_on=("enterprise-data-warehouse",)),
    P("mobile-device-management", "Mobile device management", "service",
      "Enrols company phones and tablets, pushes settings and wipes lost devices.",
      ("All employees with a company phone", "IT service desk"), 2300,
      ("Set up a new phone", "Wipe a lost device remotely"),
      ("Device management",),
      "infrastructure", owner="priya", depends_on=("directory-service",)),
    P("print-scan-service", "Print and scan service", "service",
      "Managed printers on every floor, follow-me printing and scanning to email.",
      ("All office staff",), 3600,
      ("Print to any floor's printer with a badge", "Scan a signed form to email"),
      ("Office services",),
      "workplace", owner="priya", criticality="low"),
    P("geographic-information-system", "Geographic information system", "system",
      "Maps of sites, assets and service areas for planners and field teams.",
      ("Network planners", "Field engineers"), 140,
      ("Plan a route for a field visit", "See which sites sit in a flood zone"),
      ("Asset planning",),
      "data-platform", owner="priya"),
    # Integration platforms (Tomás Herrera) ------------------------------------------------
    P("enterprise-service-bus", "Enterprise service bus", "platform",
      "Routes and transforms messages between the older core systems. Few people know all "
      "its flows, which is why it has an owner now.",
      ("Integration developers", "Application teams"), 30,
      ("Pass orders from the web shop to the ERP", "Send HR changes to downstream systems"),
      ("System integration",),
      "integration", cluster="integration-platforms", criticality="critical"),
    P("api-gateway", "API gateway", "platform",
      "The front door for internal and partner APIs: keys, rate limits, routing and "
      "usage statistics.",
      ("Application teams", "Partner developers"), 60,
      ("Publish a new API with a key and a quota", "See which partner calls what"),
      ("System integration", "Partner connectivity"),
      "integration", cluster="integration-platforms", criticality="critical", strategic=True,
      depends_on=("single-sign-on",)),
    P("managed-file-transfer", "Managed file transfer", "service",
      "Moves files securely to and from banks, the payroll bureau and suppliers, with "
      "delivery receipts.",
      ("Finance operations", "Integration developers"), 40,
      ("Send the payment run to the bank", "Receive supplier price lists"),
      ("Partner connectivity",),
      "integration", cluster="integration-platforms", criticality="high"),
    P("event-streaming", "Event streaming platform", "platform",
      "A new publish-and-subscribe backbone so systems can react to business events as "
      "they happen instead of waiting for a nightly file.",
      ("Application teams",), 8,
      ("Publish 'order shipped' events", "Feed the warehouse in near real time"),
      ("System integration",),
      "integration", cluster="integration-platforms", path=(INTRO,), in_cmdb=False),
    # Identity and access (Amara Nwosu) -----------------------------------------------------
    P("single-sign-on", "Single sign-on", "service",
      "One company login with multi-factor authentication for almost every application.",
      ("All employees", "Contractors"), 5400,
      ("Sign in once for the working day", "Approve a sign-in on a phone"),
      ("Identity and access management",),
      "identity", cluster="identity-access", criticality="critical", strategic=True,
      depends_on=("directory-service",)),
    P("directory-service", "Directory service", "platform",
      "The authoritative list of accounts, groups and devices that other systems read.",
      ("IT administrators", "Application teams"), 5400,
      ("Create an account for a new starter", "Manage group membership"),
      ("Identity and access management",),
      "identity", cluster="identity-access", criticality="critical"),
    P("privileged-access-management", "Privileged access management", "system",
      "Vaults administrator passwords and records privileged sessions; being extended to "
      "cloud consoles.",
      ("System administrators", "Security team", "Auditors"), 180,
      ("Check out an admin password for one change", "Replay a recorded session"),
      ("Security operations",),
      "identity", cluster="identity-access", path=(INTRO, GROWTH), criticality="high"),
    P("access-request-review", "Access request and review", "service",
      "Lets people ask for access with an approval, and asks managers twice a year to "
      "confirm who still needs it.",
      ("All employees", "Line managers", "Auditors"), 900,
      ("Request access to a shared folder", "Confirm a team's access in the review"),
      ("Identity and access management", "Compliance"),
      "identity", cluster="identity-access", path=(INTRO,), in_cmdb=False,
      depends_on=("directory-service", "service-catalogue")),
    # Finance systems (Jonas Weber) -------------------------------------------------------
    P("payroll", "Payroll", "system",
      "Calculates and pays salaries every month, with deductions, pensions and statutory "
      "reports.",
      ("Payroll team", "HR advisers"), 35,
      ("Run the monthly payroll", "File statutory year-end returns"),
      ("Pay employees",),
      "finance-applications", cluster="finance-systems", criticality="critical",
      strategic=True, depends_on=("managed-file-transfer", "erp-general-ledger")),
    P("erp-general-ledger", "ERP general ledger", "system",
      "The books of account: journals, periods, consolidation and the month-end close.",
      ("Finance controllers", "Accountants"), 90,
      ("Close the month", "Post a manual journal with approval"),
      ("Financial accounting",),
      "finance-applications", cluster="finance-systems", criticality="critical"),
    P("erp-procurement-payables", "ERP procurement and payables", "system",
      "Purchase requests, orders, goods receipts and supplier invoices, matched and paid.",
      ("Requesters across the company", "Buyers", "Accounts payable"), 1600,
      ("Raise a purchase request", "Match an invoice to its order and receipt"),
      ("Procure to pay",),
      "finance-applications", cluster="finance-systems", criticality="high",
      depends_on=("erp-general-ledger",)),
    P("expense-claims", "Expense claims", "system",
      "Employees photograph receipts and claim expenses; managers approve from a phone.",
      ("All employees", "Line managers", "Accounts payable"), 3900,
      ("Claim a train ticket", "Approve a team's claims"),
      ("Employee expenses",),
      "finance-applications", cluster="finance-systems",
      depends_on=("erp-general-ledger", "single-sign-on")),
    P("legacy-purchasing-module", "Legacy purchasing module", "system",
      "The old ERP purchasing module, still used by two sites; its orders are moving to "
      "the current procurement module.",
      ("Buyers at two sites",), 45,
      ("Raise orders at the sites not yet migrated",), ("Procure to pay",),
      "finance-applications", cluster="finance-systems", path=(MATURITY, RETIREMENT),
      depends_on=("erp-general-ledger",),
      retirement=R(targets=("erp-procurement-payables",), ends_in_days=150)),
    P("expense-spreadsheet-tool", "Expense spreadsheet tool", "system",
      "A macro-filled spreadsheet once emailed around for expense claims; replaced and "
      "switched off.",
      ("All employees",), 0,
      ("Claim expenses (until replaced)",), ("Employee expenses",),
      "finance-applications", cluster="finance-systems",
      path=(MATURITY, RETIREMENT, RETIRED), criticality="low",
      retirement=R(targets=("expense-claims",))),
    P("treasury-management", "Treasury management", "system",
      "Cash positions, bank accounts and payments forecasting for the treasury team.",
      ("Treasury team",), 6,
      ("See today's cash across all banks", "Forecast next month's cash"),
      ("Cash management",),
      "finance-applications", owner="jonas", criticality="high",
      depends_on=("erp-general-ledger", "managed-file-transfer")),
    # Jonas also keeps three small finance tools going, each in a unit of its own: with the
    # treasury system that is four stable units besides the cluster, one over the ceiling.
    # They share the ledger's users and depend on it, so the analytics suggest folding them
    # into the finance systems cluster rather than finding more owners.
    P("fixed-asset-register", "Fixed asset register", "system",
      "Every building, vehicle and laptop the company owns, with its depreciation schedule, "
      "posted to the ledger each month.",
      ("Finance controllers", "Accountants"), 40,
      ("Record a new asset and how it depreciates", "Run the year-end asset count"),
      ("Financial accounting",),
      "finance-applications", owner="jonas", depends_on=("erp-general-ledger",)),
    P("budget-planning", "Budget planning", "system",
      "Budget holders enter next year's budget and quarterly reforecasts; actuals come from "
      "the ledger.",
      ("Finance controllers", "Budget holders"), 260,
      ("Submit next year's budget", "Reforecast the quarter against actuals"),
      ("Planning and budgeting",),
      "finance-applications", owner="jonas", depends_on=("erp-general-ledger",)),
    P("tax-reporting", "Tax reporting", "system",
      "Prepares the VAT returns and the corporate tax pack from ledger and payables data.",
      ("Tax team", "Accountants"), 8,
      ("File the quarterly VAT return", "Prepare the corporate tax pack"),
      ("Financial accounting", "Regulatory compliance"),
      "finance-applications", owner="jonas", criticality="high",
      depends_on=("erp-general-ledger", "erp-procurement-payables")),
    # Workplace collaboration (Mei Chen) ----------------------------------------------------
    P("email-calendar", "Email and calendar", "service",
      "Company mailboxes, shared calendars and meeting invitations.",
      ("All employees",), 5400,
      ("Send and receive email", "Find a time that suits five people"),
      ("Collaboration",),
      "workplace", cluster="workplace-collaboration", criticality="critical",
      depends_on=("directory-service",)),
    P("chat-video-meetings", "Chat and video meetings", "service",
      "Team channels, direct messages and video calls, including meeting-room screens.",
      ("All employees", "External guests"), 5300,
      ("Hold a video call with a supplier", "Keep a project's conversation in a channel"),
      ("Collaboration",),
      "workplace", cluster="workplace-collaboration", criticality="high",
      depends_on=("single-sign-on",)),
    P("document-management", "Document management", "system",
      "Stores, versions and shares documents, with retention rules for records.",
      ("All employees", "Records managers"), 5000,
      ("Co-edit a proposal", "Keep a signed contract for ten years"),
      ("Collaboration", "Records management"),
      "workplace", cluster="workplace-collaboration", criticality="high",
      depends_on=("single-sign-on",)),
    P("team-wiki", "Team wiki", "service",
      "Pages where teams write down how they work, meeting notes and how-to guides.",
      ("Project teams", "IT teams"), 1800,
      ("Write a runbook", "Keep decisions next to the meeting notes"),
      ("Knowledge sharing",),
      "workplace", cluster="workplace-collaboration", criticality="low",
      depends_on=("single-sign-on",)),
    P("network-file-shares", "Network file shares", "infrastructure",
      "The old departmental drive letters, being emptied into document management.",
      ("Departments not yet migrated",), 1200,
      ("Open files on the S: drive",), ("Collaboration",),
      "workplace", cluster="workplace-collaboration", path=(MATURITY, RETIREMENT),
      depends_on=("directory-service",),
      retirement=R(targets=("document-management",), ends_in_days=240)),
    P("fax-gateway", "Fax gateway", "service",
      "Turned faxes into emails for the last few teams that received them.",
      ("Legal", "Procurement"), 0,
      ("Receive a fax as an email (until switch-off)",), ("Document exchange",),
      "workplace", cluster="workplace-collaboration",
      path=(MATURITY, RETIREMENT, RETIRED), criticality="low",
      retirement=R(
          dropped_reason="No partner has sent a fax in over a year; the capability is not "
          "replaced.",
          override_reason="The line contract ended early; switched off before the plan's "
          "last step (archiving old faxes) was ticked.",
      )),
    P("digital-signage", "Digital signage", "service",
      "Screens in receptions and canteens showing news, safety notices and visitor welcomes.",
      ("Internal communications", "Reception staff"), 60,
      ("Put a safety notice on every screen", "Welcome a visiting delegation"),
      ("Internal communication",),
      "workplace", owner="mei", criticality="low"),
    P("enterprise-search", "Enterprise search", "service",
      "One search box across the intranet, documents, wiki and the people directory.",
      ("All employees",), 4100,
      ("Find the latest version of a policy", "Search across documents and wiki at once"),
      ("Knowledge sharing",),
      "workplace", owner="mei",
      depends_on=("document-management", "team-wiki", "enterprise-intranet")),
    P("video-portal", "Video portal", "platform",
      "Hosts recorded town halls and training videos with captions.",
      ("All employees", "Internal communications"), 3000,
      ("Watch last week's town hall", "Upload a training video with captions"),
      ("Internal communication", "Learning and development"),
      "workplace", owner="mei", criticality="low", depends_on=("single-sign-on",)),
    # Customer engagement (Lukas Novak) -----------------------------------------------------
    P("crm", "Customer relationship management", "system",
      "Accounts, contacts, opportunities and cases: the shared record of every customer "
      "relationship.",
      ("Sales", "Account managers", "Contact-centre agents"), 850,
      ("Log a call with a customer", "Forecast the sales pipeline",
       "See a customer's open cases"),
      ("Customer management", "Sales"),
      "customer-systems", cluster="customer-engagement", criticality="critical",
      strategic=True, depends_on=("api-gateway", "single-sign-on")),
    P("customer-self-service-portal", "Customer self-service portal", "system",
      "Lets customers check orders, download invoices and raise a question without "
      "phoning; adoption is being pushed so that call volumes fall.",
      ("Customers", "Contact-centre agents"), 38000,
      ("Download an invoice", "Track an order", "Raise a case online"),
      ("Customer service",),
      "customer-systems", cluster="customer-engagement", path=(INTRO, GROWTH),
      criticality="high", strategic=True, depends_on=("crm", "api-gateway")),
    P("contact-centre-telephony", "Contact-centre telephony", "service",
      "Call routing, queues and call recording for the contact centre.",
      ("Contact-centre agents", "Team leaders"), 160,
      ("Route a caller to the right queue", "Listen back to a recorded call"),
      ("Customer service",),
      "customer-systems", cluster="customer-engagement", criticality="high",
      depends_on=("crm",)),
    P("customer-feedback-surveys", "Customer feedback surveys", "service",
      "Short surveys sent after a case closes, feeding satisfaction scores back to the "
      "teams.",
      ("Customers", "Customer-service managers"), 12000,
      ("Ask for a rating after a case closes", "Follow the weekly satisfaction score"),
      ("Customer service",),
      "customer-systems", cluster="customer-engagement", path=(INTRO,), criticality="low",
      in_cmdb=False, depends_on=("crm",)),
    # IT service management (Sofia Marquez) -----------------------------------------------
    P("service-catalogue", "IT service catalogue", "service",
      "The list of what IT offers and how to order it. Neglected for years, it is being "
      "rebuilt around what people actually ask for.",
      ("All employees", "IT service desk"), 5000,
      ("Order a laptop or software", "Find out what a service includes and costs"),
      ("IT service delivery",),
      "service-management", cluster="it-service-management",
      path=(INTRO, GROWTH, MATURITY, GROWTH), criticality="high",
      depends_on=("service-desk-ticketing",),
      reasons={GROWTH: "Reinvestment: the catalogue had drifted from what people order; "
               "rebuilding it is a first step of the product model."}),
    P("service-desk-ticketing", "Service desk ticketing", "system",
      "Records, routes and tracks incidents and requests from the first call to the fix.",
      ("IT service desk", "Resolver teams", "All employees"), 5400,
      ("Log an incident", "Route a request to the right team", "Report on resolution times"),
      ("IT support",),
      "service-management", cluster="it-service-management", criticality="critical",
      depends_on=("configuration-management-database", "directory-service")),
    P("configuration-management-database", "Configuration management database", "system",
      "The inventory of systems, servers and their relationships that changes and "
      "incidents refer to.",
      ("IT operations", "Change managers"), 220,
      ("See what depends on a server before a change", "Register a new application"),
      ("IT asset management",),
      "service-management", cluster="it-service-management", criticality="high"),
    P("support-knowledge-base", "Support knowledge base", "service",
      "Answers and fixes written by the service desk, offered to people before they raise "
      "a ticket.",
      ("IT service desk", "All employees"), 2600,
      ("Fix a printer problem without calling", "Reuse a known fix for an incident"),
      ("IT support",),
      "service-management", cluster="it-service-management", criticality="low",
      depends_on=("service-desk-ticketing",)),
    P("old-helpdesk-tool", "Old helpdesk tool", "system",
      "The ticketing tool used before the current one; its history was exported and it "
      "has been switched off.",
      ("IT service desk",), 0,
      ("Look up old tickets (until switch-off)",), ("IT support",),
      "service-management", cluster="it-service-management",
      path=(MATURITY, RETIREMENT, RETIRED), criticality="low",
      retirement=R(targets=("service-desk-ticketing",))),
    # Workplace odds and ends (Grace O'Neill): a cluster with no reason ---------------------
    P("meeting-room-booking", "Meeting room booking", "system",
      "Shows free rooms and books them, with panels outside each room.",
      ("All office staff",), 3200,
      ("Book a room for tomorrow", "Release a room nobody turned up to"),
      ("Workplace services",),
      "workplace", cluster="workplace-odds-and-ends", criticality="low",
      depends_on=("email-calendar",)),
    P("visitor-sign-in", "Visitor sign-in kiosk", "system",
      "Tablets in reception where visitors sign in, print a badge and notify their host.",
      ("Reception staff", "Visitors", "Hosts"), 400,
      ("Sign a visitor in and print a badge", "List everyone on site for a fire drill"),
      ("Workplace services", "Site safety"),
      "workplace", cluster="workplace-odds-and-ends", criticality="low"),
    P("canteen-menu-app", "Canteen menu app", "system",
      "The week's menu, allergens and opening hours of the staff canteens.",
      ("Office staff",), 2100,
      ("Check today's menu and allergens",), ("Workplace services",),
      "workplace", cluster="workplace-odds-and-ends", criticality="low", in_cmdb=False),
    # Project-managed items (Ahmed Haddad) --------------------------------------------------
    P("campus-switch-replacement", "Campus network switch replacement", "infrastructure",
      "Replaces the access switches on every floor of the head office before their support "
      "ends. A piece of infrastructure work with an end, not a product.",
      ("Everyone at head office",), None,
      ("Swap the switches floor by floor out of hours",), ("Network connectivity",),
      "infrastructure", owner="ahmed", criticality="high", project_ends_in_days=120),
    P("datacentre-server-refresh", "Data-centre server refresh", "infrastructure",
      "Moves the virtual machines onto new hosts and decommissions the old ones.",
      ("Application teams",), None,
      ("Move workloads to the new hosts", "Decommission the old hardware"),
      ("Hosting",),
      "infrastructure", owner="ahmed", criticality="high", project_ends_in_days=200),
    P("acquired-company-hr-import", "HR data import from the acquired company",
      "integration",
      "A one-time load of the acquired company's employee records into our HR systems; "
      "the interface is switched off once the import is reconciled.",
      ("HR advisers",), None,
      ("Load and reconcile the acquired staff records",), ("Employee records",),
      "people-systems", owner="ahmed", project_ends_in_days=75, in_cmdb=False,
      depends_on=("hr-self-service-portal", "payroll")),
    P("e-invoicing-compliance", "E-invoicing compliance", "integration",
      "Makes supplier and customer invoices meet the new electronic invoicing law by its "
      "deadline.",
      ("Accounts payable", "Accounts receivable"), None,
      ("Send invoices in the mandated format", "Receive e-invoices from suppliers"),
      ("Procure to pay", "Regulatory compliance"),
      "finance-applications", owner="ahmed", criticality="high", project_ends_in_days=300,
      depends_on=("erp-procurement-payables", "api-gateway")),
    P("email-archive-migration", "Email archive migration", "infrastructure",
      "Moves fifteen years of archived mail out of the old on-site archive.",
      ("Records managers", "Legal"), None,
      ("Move archived mailboxes with their retention holds",), ("Records management",),
      "infrastructure", owner="ahmed", project_ends_in_days=160,
      depends_on=("email-calendar",)),
    # Orphans: nobody, or nobody accountable, owns them ------------------------------------
    P("warehouse-order-interface", "Warehouse order interface", "integration",
      "An old point-to-point link that passes orders to the warehouse system. It works, "
      "nobody fully understands it, and everyone is afraid to touch it.",
      ("Warehouse planners", "Order management"), 70,
      ("Send confirmed orders to the warehouse",), ("Order fulfilment",),
      "integration", criticality="high", depends_on=("erp-procurement-payables",)),
    P("legacy-sales-reporting", "Legacy sales reporting tool", "system",
      "Reports for a regional sales process that no longer exists. A leader put it into "
      "retirement; its capability is not carried over.",
      ("Two regional sales managers",), 2,
      ("Print the old regional sales league table",), ("Management information",),
      None, path=(MATURITY, RETIREMENT), criticality="low", depends_on=("crm",),
      retirement=R(dropped_reason="The regional sales process it reported on was "
                   "discontinued; the BI platform covers what is still needed.",
                   ends_in_days=45)),
    P("contract-management", "Contract management", "system",
      "Stores supplier contracts with renewal reminders. Its owner left and nobody has "
      "picked it up.",
      ("Procurement", "Legal"), 120,
      ("Get a reminder before a contract renews", "Find the signed copy of a contract"),
      ("Supplier management",),
      "finance-applications", owner="daniel",
      depends_on=("erp-procurement-payables", "document-management")),
    P("field-service-scheduling", "Field service scheduling", "system",
      "Plans engineers' visits to customer sites; the roll-out stalled when its owner left.",
      ("Field engineers", "Planners"), 210,
      ("Plan tomorrow's visits", "Reassign a visit when an engineer is ill"),
      ("Field service",),
      "customer-systems", owner="daniel", path=(INTRO, GROWTH),
      depends_on=("crm", "geographic-information-system")),
    P("legal-hold-tool", "Legal hold tool", "system",
      "Places documents and mailboxes on hold during litigation.",
      ("Legal",), 8,
      ("Put a custodian's mailbox on hold",), ("Legal and compliance",),
      None, owner="ingrid", criticality="high",
      depends_on=("email-calendar", "document-management")),
    P("facilities-helpdesk", "Facilities helpdesk", "system",
      "Where staff report a broken light or a cold office; its owner's login is switched "
      "off while he is on long leave.",
      ("All office staff", "Facilities team"), 2800,
      ("Report a fault in the building", "Dispatch a technician"),
      ("Workplace services",),
      "workplace", owner="marek", criticality="low"),
]  # fmt: skip

del P, R


# --- Backlogs ------------------------------------------------------------------------------
# One ordered list per ownership unit, top first. Each item names the product it is about;
# the builder files it in that product's current unit, keyed on (unit, title). Ages count back
# from the day of the first build: `age` since it was raised, `started` since work began,
# `finished` since it was done or declined. A stale item was raised long ago and never
# touched since.


@dataclass(frozen=True)
class ItemSpec:
    product: str
    title: str
    type: str = "enhancement"
    dimension: str = "improvement"
    status: str = "proposed"
    estimate: float | None = None
    source: str = "user_request"
    age: int = 30
    started: int | None = None
    finished: int | None = None
    stale: bool = False
    description: str = ""


FIX, ENH, IMP, INV = "fix", "enhancement", "improvement", "investigation"
IMPR, OPS, SUP = "improvement", "operations", "support"
PROPOSED, READY, DOING, DONE, DECLINED = "proposed", "ready", "in_progress", "done", "declined"
ASKED, PATTERN, REVIEW, INCIDENT = "user_request", "support_pattern", "review_action", "incident"
B = ItemSpec

BACKLOGS: list[ItemSpec] = [
    # Employee experience: balanced, every member shipped something lately ---------------
    B("hr-self-service-portal", "Move the portal off the unsupported application server",
      IMP, OPS, DOING, 20, REVIEW, age=120, started=40,
      description="Last security patches for the old server stopped in spring; rebuild on "
      "the supported container platform."),
    B("onboarding-offboarding", "Add facilities and legal steps to the leaver checklist",
      ENH, IMPR, READY, 8, ASKED, age=35),
    B("hr-self-service-portal", "Payslip download times out at month end", FIX, SUP, DOING, 3,
      PATTERN, age=21, started=6),
    B("enterprise-intranet", "Let department editors schedule news posts", ENH, IMPR,
      PROPOSED, 5, ASKED, age=50),
    B("learning-management", "Mandatory course reminders go to leavers", FIX, SUP, READY, 2,
      PATTERN, age=18),
    B("employee-directory", "Show skills from the learning record on profiles", ENH, IMPR,
      PROPOSED, 6, ASKED, age=90),
    B("onboarding-offboarding", "Order the laptop as soon as the contract is signed", IMP,
      IMPR, DONE, 5, ASKED, age=80, started=45, finished=25),
    B("enterprise-intranet", "Broken links after the policy library move", FIX, SUP, DONE, 1,
      INCIDENT, age=40, started=38, finished=36),
    B("employee-directory", "Reporting lines wrong after a reorganisation import", FIX, OPS,
      DONE, 2, INCIDENT, age=70, started=68, finished=64),
    B("learning-management", "Renew the video-hosting certificate automatically", IMP, OPS,
      DONE, 1, REVIEW, age=100, started=60, finished=58),
    # Data and analytics: crowded. The warehouse holds most of the open estimate while the
    # master data hub has had nothing finished for months ----------------------------------
    B("enterprise-data-warehouse", "Replace the nightly full reload with incremental loads",
      IMP, OPS, DOING, 30, REVIEW, age=95, started=30,
      description="The full reload now runs past 7 am and finance sees yesterday's numbers "
      "late. Load only changed rows."),
    B("enterprise-data-warehouse", "Partition the sales fact table by month", IMP, OPS, READY,
      15, PATTERN, age=60),
    B("enterprise-data-warehouse", "Investigate storage cost growth of 40% this year", INV,
      OPS, READY, 8, REVIEW, age=45),
    B("enterprise-data-warehouse", "Add the acquired company's cost centres", ENH, IMPR,
      PROPOSED, 12, ASKED, age=30),
    B("enterprise-data-warehouse", "Row-level security for regional managers", ENH, IMPR,
      PROPOSED, 10, ASKED, age=25),
    B("bi-reporting-platform", "Self-service dataset for the sales team", ENH, IMPR, DOING, 6,
      ASKED, age=40, started=12),
    B("data-integration-pipelines", "Alert when a source extract arrives empty", IMP, OPS,
      READY, 3, INCIDENT, age=28),
    B("master-data-hub", "Merge duplicate supplier records from the old ERP", FIX, SUP,
      PROPOSED, 3, PATTERN, age=230, stale=True),
    B("master-data-hub", "Document the golden-record matching rules", INV, SUP, PROPOSED, 2,
      REVIEW, age=150),
    B("bi-reporting-platform", "Retire the unused regional dashboards", IMP, OPS, DONE, 2,
      REVIEW, age=70, started=30, finished=20),
    B("data-integration-pipelines", "Retry failed loads once before paging", IMP, OPS, DONE,
      2, INCIDENT, age=55, started=40, finished=33),
    B("enterprise-data-warehouse", "Upgrade the database engine to the supported release",
      IMP, OPS, DONE, 10, REVIEW, age=140, started=80, finished=50),
    B("master-data-hub", "Country codes follow the new ISO list", FIX, OPS, DONE, 1,
      PATTERN, age=300, started=260, finished=240),
    # Integration platforms --------------------------------------------------------------
    B("api-gateway", "Rate limits per consuming application", ENH, OPS, DOING, 8, INCIDENT,
      age=50, started=15),
    B("enterprise-service-bus", "Map which flows still use the old SOAP adapters", INV, OPS,
      READY, 5, REVIEW, age=65),
    B("managed-file-transfer", "Partners can rotate their own SSH keys", ENH, SUP, PROPOSED,
      5, PATTERN, age=40),
    B("event-streaming", "First production topic: order status changes", ENH, IMPR, DOING, 10,
      REVIEW, age=30, started=10),
    B("enterprise-service-bus", "Queue depth alert fires every night at 2 am", FIX, OPS,
      PROPOSED, 2, PATTERN, age=210, stale=True),
    B("api-gateway", "Publish the developer portal with example calls", ENH, SUP, DONE, 6,
      ASKED, age=90, started=50, finished=20),
    B("managed-file-transfer", "Transfer to the bank failed after a certificate change", FIX,
      OPS, DONE, 1, INCIDENT, age=15, started=15, finished=14),
    # Identity and access ----------------------------------------------------------------
    B("single-sign-on", "Phishing-resistant sign-in for administrators", IMP, OPS, DOING, 12,
      REVIEW, age=75, started=20),
    B("access-request-review", "Quarterly access review for finance applications", ENH,
      IMPR, READY, 8, REVIEW, age=40),
    B("privileged-access-management", "Onboard the remaining database admin accounts", IMP,
      OPS, READY, 6, REVIEW, age=55),
    B("directory-service", "Stale guest accounts are never disabled", FIX, OPS, PROPOSED, 3,
      PATTERN, age=35),
    B("single-sign-on", "Sign-in loop on the expense app in private browsing", FIX, SUP, DONE,
      1, PATTERN, age=25, started=10, finished=8),
    B("directory-service", "Disable leavers within the hour, not overnight", IMP, OPS, DONE,
      4, INCIDENT, age=120, started=70, finished=45),
    # Finance systems --------------------------------------------------------------------
    B("payroll", "Apply the new tax tables before January", ENH, OPS, DOING, 6, REVIEW,
      age=45, started=10),
    B("erp-procurement-payables", "Move open orders off the legacy purchasing module", IMP,
      IMPR, DOING, 15, REVIEW, age=110, started=60),
    B("expense-claims", "Photograph receipts from the phone app", ENH, IMPR, READY, 8, ASKED,
      age=70),
    B("erp-general-ledger", "Month-end close report runs for three hours", INV, OPS, READY, 4,
      PATTERN, age=30),
    B("legacy-purchasing-module", "Export closed orders for the auditors before shutdown",
      IMP, OPS, PROPOSED, 3, REVIEW, age=20),
    B("erp-general-ledger", "Automate the intercompany reconciliation", ENH, IMPR, PROPOSED,
      12, ASKED, age=260, stale=True),
    B("payroll", "Overtime rounded wrongly for part-time staff", FIX, SUP, DONE, 2, INCIDENT,
      age=60, started=58, finished=52),
    B("expense-claims", "Mileage rates updated for this year", FIX, OPS, DONE, 1, ASKED,
      age=90, started=85, finished=84),
    B("erp-procurement-payables", "Three-way match for service orders", ENH, IMPR, DONE, 10,
      ASKED, age=150, started=100, finished=30),
    B("expense-claims", "Approve claims by email reply", ENH, IMPR, DECLINED, 4, ASKED,
      age=120, finished=100, description="Declined: approving from a mail reply bypasses "
      "the spending limits check."),
    # Workplace collaboration ------------------------------------------------------------
    B("document-management", "Move department shares into document libraries", IMP, IMPR,
      DOING, 25, REVIEW, age=100, started=45),
    B("chat-video-meetings", "Meeting rooms join calls with one tap", ENH, IMPR, READY, 6,
      ASKED, age=35),
    B("email-calendar", "Shared mailbox permissions take a day to apply", FIX, SUP, PROPOSED,
      2, PATTERN, age=28),
    B("network-file-shares", "Make the old shares read-only by department", IMP, OPS,
      PROPOSED, 5, REVIEW, age=15),
    B("team-wiki", "Mark pages nobody edited in two years", ENH, IMPR, PROPOSED, 3, ASKED,
      age=320, stale=True),
    B("email-calendar", "Block auto-forwarding to private addresses", IMP, OPS, DONE, 2,
      INCIDENT, age=50, started=48, finished=47),
    B("chat-video-meetings", "Live captions in town-hall meetings", ENH, SUP, DONE, 3, ASKED,
      age=80, started=40, finished=22),
    # Customer engagement: crowded. The CRM holds most of the open estimate while the
    # feedback surveys have never had an item finished --------------------------------------
    B("crm", "Split the customer record into person and organisation", IMP, IMPR, DOING, 30,
      REVIEW, age=130, started=50,
      description="Sole traders are stored twice today; the portal and telephony both read "
      "the wrong record."),
    B("crm", "Case routing by product line", ENH, SUP, READY, 15, PATTERN, age=70),
    B("crm", "Duplicate contacts after every web form import", FIX, OPS, READY, 8, PATTERN,
      age=60),
    B("crm", "Replace the quote template add-on before its licence ends", IMP, OPS,
      PROPOSED, 10, REVIEW, age=40),
    B("customer-self-service-portal", "Customers can download past invoices", ENH, IMPR,
      PROPOSED, 5, ASKED, age=45),
    B("contact-centre-telephony", "Show the caller's open cases on pick-up", ENH, SUP,
      PROPOSED, 4, ASKED, age=55),
    B("customer-feedback-surveys", "Send a survey when a case is closed", ENH, IMPR, PROPOSED,
      3, REVIEW, age=190, stale=True),
    B("crm", "Opportunity stages match the new sales process", ENH, IMPR, DONE, 5, ASKED,
      age=75, started=40, finished=18),
    B("contact-centre-telephony", "Callback queue drops calls after 10 minutes", FIX, OPS,
      DONE, 2, INCIDENT, age=30, started=29, finished=26),
    B("customer-self-service-portal", "Password reset without calling the desk", ENH, SUP,
      DONE, 4, PATTERN, age=100, started=60, finished=40),
    # IT service management --------------------------------------------------------------
    B("service-catalogue", "Request a software licence from the catalogue", ENH, IMPR, DOING,
      6, ASKED, age=40, started=14),
    B("service-desk-ticketing", "Suggest knowledge articles while a ticket is typed", ENH,
      SUP, READY, 8, PATTERN, age=50),
    B("configuration-management-database", "Reconcile servers found by discovery", IMP, OPS,
      READY, 10, REVIEW, age=80),
    B("support-knowledge-base", "Archive articles about the old helpdesk tool", IMP, SUP,
      PROPOSED, 2, REVIEW, age=20),
    B("service-desk-ticketing", "Tickets from email lose their attachments", FIX, SUP, DONE,
      2, INCIDENT, age=35, started=33, finished=30),
    B("configuration-management-database", "Nightly sync from the cloud accounts", ENH, OPS,
      DONE, 5, REVIEW, age=110, started=70, finished=42),
    # Workplace odds and ends ------------------------------------------------------------
    B("meeting-room-booking", "Free rooms that nobody checks into", ENH, IMPR, PROPOSED, 4,
      ASKED, age=280, stale=True),
    B("visitor-sign-in", "Print badges with the host's photo", ENH, SUP, PROPOSED, 2, ASKED,
      age=60),
    B("canteen-menu-app", "Allergens missing on the weekly menu", FIX, SUP, DONE, 1, ASKED,
      age=25, started=20, finished=19),
    # Products in units of their own -----------------------------------------------------
    B("data-science-workbench", "Governed read access to warehouse tables", ENH, IMPR, DOING,
      8, ASKED, age=30, started=12),
    B("data-science-workbench", "GPU compute for forecasting experiments", INV, IMPR,
      PROPOSED, 5, ASKED, age=20),
    B("mobile-device-management", "Enrol new phones without the service desk", ENH, SUP,
      READY, 5, PATTERN, age=45),
    B("mobile-device-management", "Wipe command fails on older tablets", FIX, OPS, DONE, 2,
      INCIDENT, age=40, started=39, finished=35),
    B("print-scan-service", "Scan to the document library, not only to email", ENH, IMPR,
      PROPOSED, 4, ASKED, age=240, stale=True),
    B("print-scan-service", "Toner orders placed automatically", IMP, OPS, DONE, 2, PATTERN,
      age=90, started=60, finished=55),
    B("geographic-information-system", "Load the new flood-risk map layer", ENH, IMPR, READY,
      3, ASKED, age=30),
    B("geographic-information-system", "Map tiles slow on the field tablets", INV, SUP,
      PROPOSED, 2, PATTERN, age=15),
    B("treasury-management", "Import bank statements in the new camt format", ENH, OPS,
      DOING, 6, REVIEW, age=50, started=20),
    B("treasury-management", "Cash forecast includes payroll runs", ENH, IMPR, DONE, 4, ASKED,
      age=100, started=70, finished=45),
    B("fixed-asset-register", "Depreciation for leased vehicles under the new lease rules",
      ENH, IMPR, READY, 4, REVIEW, age=35),
    B("fixed-asset-register", "Asset count list shows disposed laptops", FIX, SUP, DONE, 1,
      PATTERN, age=50, started=45, finished=44),
    B("budget-planning", "Load ledger actuals nightly instead of weekly", IMP, OPS, PROPOSED, 5,
      REVIEW, age=30),
    B("tax-reporting", "VAT rate change for digital services", ENH, OPS, DONE, 2, REVIEW,
      age=70, started=50, finished=41),
    B("tax-reporting", "Reconcile the VAT return with payables automatically", IMP, IMPR,
      PROPOSED, 6, ASKED, age=25),
    B("digital-signage", "Emergency notice on every screen in one step", ENH, OPS, READY, 3,
      REVIEW, age=40),
    B("enterprise-search", "Results from the team wiki appear a day late", FIX, SUP, DOING,
      3, PATTERN, age=20, started=5),
    B("enterprise-search", "Search inside scanned PDFs", ENH, IMPR, PROPOSED, 8, ASKED,
      age=75),
    B("video-portal", "Automatic captions in four languages", ENH, SUP, DONE, 5, ASKED,
      age=120, started=60, finished=28),
    B("warehouse-order-interface", "Find out what the nightly retry job actually does", INV,
      OPS, PROPOSED, 3, INCIDENT, age=400, stale=True,
      description="Orders sometimes arrive twice at the warehouse; nobody knows which job "
      "resends them."),
    B("warehouse-order-interface", "Replace the interface with an API gateway flow", IMP,
      IMPR, PROPOSED, 20, REVIEW, age=350, stale=True),
    B("legacy-sales-reporting", "Hand the last two reports over to the BI platform", IMP,
      OPS, DOING, 3, REVIEW, age=30, started=10),
    B("contract-management", "Renewal reminders go to the departed owner", FIX, SUP,
      PROPOSED, 1, PATTERN, age=200, stale=True),
    B("field-service-scheduling", "Plan visits around engineers' skills", ENH, IMPR, READY, 8,
      ASKED, age=200),
    B("legal-hold-tool", "Holds on chat messages as well as mail", ENH, IMPR, PROPOSED, 6,
      ASKED, age=330, stale=True),
    B("facilities-helpdesk", "Report a fault by scanning the room's QR code", ENH, SUP,
      PROPOSED, 4, ASKED, age=210, stale=True),
    B("facilities-helpdesk", "Heating faults routed to the wrong contractor", FIX, OPS, DONE,
      1, INCIDENT, age=60, started=58, finished=57),
]  # fmt: skip

del B

DEFAULT_REASONS = {
    (INTRO, GROWTH): "Early users are on board; now investing in capabilities and adoption.",
    (GROWTH, MATURITY): "Adoption has levelled off; the focus moves to performance and cost.",
    (MATURITY, RETIREMENT): "Superseded; the migration plan is agreed with its users.",
    (GROWTH, RETIREMENT): "Superseded; the migration plan is agreed with its users.",
    (INTRO, RETIREMENT): "Stopped after the pilot; the migration plan is agreed.",
    (RETIREMENT, RETIRED): "Migration finished and the old system switched off.",
}


# --- Metrics -------------------------------------------------------------------------------

AV, RT, ER = "availability", "response-time", "error-rate"
TK, MT = "support-tickets", "mttr"
CT, CA, AD, BO = "cycle-time-reduction", "cost-avoidance", "adoption-rate", "business-outcome"

# Which catalogue metrics each product-managed product carries; retired products and project
# items carry none. Most have three to five that span improvement, operations and support;
# the ones marked below fall short (or go over), so the coverage warning has cases to show.
METRIC_SETS: dict[str, tuple[str, ...]] = {
    "hr-self-service-portal": (AV, RT, TK, MT, AD),
    "onboarding-offboarding": (AV, TK, CT, BO),
    "enterprise-intranet": (AV, TK, AD),
    "employee-directory": (AV, TK, AD),
    "learning-management": (AV, MT, AD, BO),
    "enterprise-data-warehouse": (AV, ER, TK, CA, BO),
    "bi-reporting-platform": (AV, RT, TK, AD),
    "data-integration-pipelines": (ER, MT, CA),
    "master-data-hub": (AV, TK, CT),
    "data-science-workbench": (AV, TK, AD),
    "mobile-device-management": (AV, TK, CA),
    "print-scan-service": (AV, TK, CA),
    "geographic-information-system": (AV, RT, ER),  # gap: operations only
    "enterprise-service-bus": (AV, ER, MT, CA),
    "api-gateway": (AV, RT, ER, MT, AD),
    "managed-file-transfer": (AV, ER, TK, CA),
    "event-streaming": (AV, ER, TK, AD),
    "single-sign-on": (AV, RT, TK, AD),
    "directory-service": (AV, ER, MT, CA),
    "privileged-access-management": (AV, TK, AD, BO),
    "access-request-review": (AV, TK, CT),
    "payroll": (AV, MT, CT, BO),
    "erp-general-ledger": (AV, RT, MT, CT),
    "erp-procurement-payables": (AV, TK, CT),
    "expense-claims": (AV, TK, CT, AD),
    "legacy-purchasing-module": (AV, TK, CA),
    "treasury-management": (AV, MT, CA),
    "fixed-asset-register": (AV, MT, CA),
    "budget-planning": (AV, MT, CT),
    "tax-reporting": (AV, MT, CT),
    "email-calendar": (AV, TK, AD),
    "chat-video-meetings": (AV, RT, TK, AD),
    "document-management": (AV, RT, TK, AD),
    "team-wiki": (AV, TK, AD),
    "network-file-shares": (AV, TK, CA),
    "digital-signage": (AV, TK, AD),
    "enterprise-search": (AV, RT, TK, AD),
    "video-portal": (AV, TK, AD),
    "crm": (AV, RT, ER, TK, MT, AD),  # gap: six, more than the five that decide anything
    "customer-self-service-portal": (AV, ER, TK, AD, BO),
    "contact-centre-telephony": (AV, TK, MT, BO),
    "customer-feedback-surveys": (TK, AD, BO),  # gap: nothing on operations
    "service-catalogue": (AV, TK, AD),
    "service-desk-ticketing": (AV, RT, TK, MT, CT),
    "configuration-management-database": (AV, MT, CA),
    "support-knowledge-base": (AV, TK, AD),
    "meeting-room-booking": (AV, TK, AD),
    "visitor-sign-in": (AV, TK, AD),
    "canteen-menu-app": (AD,),  # gap: one metric
    "warehouse-order-interface": (ER, TK),  # gap: two, nothing on improvement (an orphan)
    "legacy-sales-reporting": (AV, TK, CA),
    "contract-management": (AV, TK, CT),
    "field-service-scheduling": (AV, TK, AD),
    "legal-hold-tool": (AV,),  # gap: one metric (its owner left)
    # facilities-helpdesk: none yet (gap: no metrics at all)
}

# "Business outcome" is meant to be renamed after the result the product was bought for.
OUTCOME_NAMES = {
    "onboarding-offboarding": "New starters ready on day one",
    "learning-management": "Mandatory training completed on time",
    "enterprise-data-warehouse": "Morning reports ready by 8 am",
    "privileged-access-management": "Administrator accounts under control",
    "payroll": "Pay runs on time and right first time",
    "customer-self-service-portal": "Customer questions settled online",
    "contact-centre-telephony": "Calls answered within a minute",
    "customer-feedback-surveys": "Customer satisfaction score",
}

# The catalogue's hourly metrics are read daily in the demo: there is no live feed, and a
# daily reading keeps every status as meant for a day after a seed (hourly ones would all be
# stale two hours later). `make demo` seeds again at each start and tops the readings up.
DEMO_INTERVALS = {RT: dt.timedelta(days=1), ER: dt.timedelta(days=1)}
HISTORY_DAYS = 182  # readings reach this far back from the first build


@dataclass(frozen=True)
class Shape:
    """How a template's readings look: a typical value in each band, day-to-day noise, the
    possible range and the precision a source would report."""

    green: float
    amber: float
    red: float
    noise: float
    lowest: float
    highest: float
    decimals: int


SHAPES = {
    AV: Shape(99.86, 99.3, 98.4, 0.05, 90, 100, 2),
    RT: Shape(240, 690, 1450, 30, 40, 10_000, 0),
    ER: Shape(0.22, 1.4, 3.2, 0.07, 0, 100, 2),
    TK: Shape(12, 48, 75, 3, 0, 1_000, 0),
    MT: Shape(5.5, 31, 63, 1.2, 0.5, 1_000, 1),
    CT: Shape(26, 6, -4, 1.5, -50, 100, 1),
    CA: Shape(135, 38, -15, 10, -200, 10_000, 0),
    AD: Shape(85, 52, 33, 1.2, 0, 100, 1),
    BO: Shape(104, 73, 52, 2.5, 0, 200, 0),
}


@dataclass(frozen=True)
class Story:
    """A metric's path, as (days from the first build, band name or value) points, linear in
    between and flat after the last; from the last point on (and in the last two weeks of a
    steady one) every reading stays inside that point's band, so the status is the one meant.
    `stops`: the feed stopped that many days before the first build (stale). `feed`: False
    when no reading ever came (no data)."""

    path: tuple[tuple[int, str | float], ...] = ((-HISTORY_DAYS, "green"),)
    stops: int | None = None
    feed: bool = True


STEADY = Story()
STORIES: dict[tuple[str, str], Story] = {
    # Red: tickets climbing since the desk took over the catalogue orders; a release that
    # broke the portal's checkout; the old file servers failing on their way out.
    ("service-desk-ticketing", TK): Story(
        ((-HISTORY_DAYS, "green"), (-70, "green"), (-35, "amber"), (-14, "red"))
    ),
    ("customer-self-service-portal", ER): Story(
        ((-HISTORY_DAYS, "green"), (-9, "green"), (-8, "red"))
    ),
    ("network-file-shares", AV): Story(((-HISTORY_DAYS, "amber"), (-40, "amber"), (-25, "red"))),
    # Amber: slipping, or improving but not there yet.
    ("crm", RT): Story(((-HISTORY_DAYS, "green"), (-50, "green"), (-20, "amber"))),
    ("single-sign-on", AV): Story(((-HISTORY_DAYS, "green"), (-16, "green"), (-12, "amber"))),
    ("hr-self-service-portal", MT): Story(
        ((-HISTORY_DAYS, "green"), (-60, "green"), (-30, "amber"))
    ),
    ("expense-claims", TK): Story(((-HISTORY_DAYS, "green"), (-75, "green"), (-45, "amber"))),
    ("bi-reporting-platform", AD): Story(((-HISTORY_DAYS, 28.0), (-45, "amber"))),
    ("onboarding-offboarding", CT): Story(((-HISTORY_DAYS, 1.0), (-60, "amber"))),
    # Recovered: an incident two months ago, fixed since; adoption that grew into the green.
    ("api-gateway", RT): Story(
        ((-HISTORY_DAYS, "green"), (-78, "green"), (-74, "red"), (-60, "red"), (-54, "green"))
    ),
    ("customer-self-service-portal", AD): Story(((-HISTORY_DAYS, 38.0), (-30, "green"))),
    ("enterprise-search", AD): Story(((-HISTORY_DAYS, 61.0), (-40, "green"))),
    # Stale: feeds that stopped (the transfer monitor was not moved to the new server; the
    # printing supplier's monthly export ended; nobody sent figures after the owner left).
    ("managed-file-transfer", ER): Story(stops=-24),
    ("print-scan-service", TK): Story(stops=-40),
    ("contract-management", AV): Story(stops=-62),
    # No data: defined at the start of the introduction, nothing measured yet.
    ("event-streaming", AD): Story(feed=False),
}

SOURCES = {"operations": "monitoring", "support": "service-desk", "improvement": "owner"}


def _metric_fields(slug: str, key: str, currency: str) -> dict:
    fields = BY_KEY[key].defaults(currency)
    del fields["template"]
    if key in DEMO_INTERVALS:
        fields["expected_interval"] = DEMO_INTERVALS[key]
    if key == BO and slug in OUTCOME_NAMES:
        fields["name"] = OUTCOME_NAMES[slug]
    return fields


def _band(metric: Metric, band: str, shape: Shape) -> tuple[float, float]:
    """The values (lowest, highest) that give `band`, rounded as readings are."""
    step = 10.0**-shape.decimals
    warning, critical = metric.warning, metric.critical
    if metric.better == Better.HIGHER:
        bands = {
            "green": (warning, shape.highest),
            "amber": (critical, warning - step),
            "red": (shape.lowest, critical - step),
        }
    else:
        bands = {
            "green": (shape.lowest, warning),
            "amber": (warning + step, critical),
            "red": (critical + step, shape.highest),
        }
    return bands[band]


def story_readings(
    slug: str, metric: Metric, story: Story, anchor: dt.datetime, now: dt.datetime
) -> list[tuple[dt.datetime, float]]:
    """Every reading of the story from its start up to `now` (deterministic per metric)."""
    if not story.feed:
        return []
    shape = SHAPES[metric.key]
    rng = random.Random(f"demo-metric/{slug}/{metric.key}")
    own_green = shape.green + rng.uniform(-1, 1) * shape.noise * 1.5
    interval = metric.expected_interval
    day = dt.timedelta(days=1)

    def level(point: str | float) -> float:
        if isinstance(point, str):
            return own_green if point == "green" else getattr(shape, point)
        return point

    path = story.path
    last_day, last_point = path[-1]
    settle = max(last_day, -14)
    end = now if story.stops is None else min(now, anchor + story.stops * day)
    out = []
    at = anchor - HISTORY_DAYS * day
    while at <= end:
        t = (at - anchor) / day
        base = level(last_point)
        for (d0, p0), (d1, p1) in itertools.pairwise(path):
            if d0 <= t < d1:
                base = level(p0) + (level(p1) - level(p0)) * (t - d0) / (d1 - d0)
                break
        value = base + rng.gauss(0, shape.noise)
        if rng.random() < 0.03:  # now and then a bad day, a busy week
            value += (shape.amber - shape.green) * rng.uniform(0.4, 1.3)
        value = min(max(value, shape.lowest), shape.highest)
        if t >= settle and isinstance(last_point, str):
            low, high = _band(metric, last_point, shape)
            inset = (high - low) / 10  # keep off the threshold itself
            value = min(max(value, low + inset), high - inset)
        out.append((at, round(value, shape.decimals) + 0.0))
        at += interval
    return out


# --- Building ------------------------------------------------------------------------------

# --- Quarterly reviews ---------------------------------------------------------------------

# What became of an action item by the next review.
OPEN_ACTION = "open"  # nobody got to it
DONE_BY_HAND = "done"  # ticked off in the review record
ON_BACKLOG = "backlog"  # turned into a backlog item that is being worked on
BACKLOG_DONE = "backlog-done"  # turned into a backlog item that is finished


@dataclass(frozen=True)
class ActionSpec:
    title: str
    follow: str = OPEN_ACTION
    product: str | None = None  # the backlog it went to (a member of the unit)


@dataclass(frozen=True)
class HeldReview:
    """Last quarter's review of a unit (keyed on a cluster's or a stand-alone product's slug):
    what the meeting decided, what it asked for, and a line of notes."""

    unit: str
    decisions: tuple[tuple[str, str], ...]
    actions: tuple[ActionSpec, ...] = ()
    summary: str = ""


A = ActionSpec
INVEST, CONTINUE, OPTIMISE, SPLIT = "invest", "continue", "optimise", "split"
MERGE, RETIRE, RECLASSIFY = "merge", "retire", "reclassify"

HELD_REVIEWS: list[HeldReview] = [
    HeldReview("employee-experience",
        ((INVEST, "The HR portal's application server is out of support and the leaver "
                  "checklist still misses steps; fund the rebuild this year rather than "
                  "patching the old server again."),),
        (A("Security test the HR portal on its new platform before the switch-over",
           ON_BACKLOG, "hr-self-service-portal"),
         A("Agree the leaver checklist with facilities and legal", DONE_BY_HAND)),
        "Nora showed the portal's support tickets doubling at each month end."),
    HeldReview("data-analytics",
        ((OPTIMISE, "Finance reads yesterday's numbers late because the warehouse reloads in "
                    "full every night; fix the load before taking new report requests."),
         (SPLIT, "The master data hub has shipped nothing for months while the warehouse "
                 "takes every sprint; look at giving the hub its own owner.")),
        (A("Write down the golden-record matching rules of the master data hub", ON_BACKLOG,
           "master-data-hub"),
         A("Propose an owner for the master data hub")),
        "Priya is over the ownership ceiling; the hub is the first thing to hand over."),
    HeldReview("integration-platforms",
        ((CONTINUE, "The bus and the gateway are stable and every team depends on them; keep "
                    "the current capacity and let the event streaming pilot prove itself."),),
        (A("List the flows still on the old SOAP adapters", ON_BACKLOG,
           "enterprise-service-bus"),
         A("Pick the first production topic for event streaming", DONE_BY_HAND))),
    HeldReview("identity-access",
        ((INVEST, "Administrators still sign in with a password and a text message; fund "
                  "phishing-resistant sign-in, starting with privileged accounts."),),
        (A("Enrol every administrator in phishing-resistant sign-in", BACKLOG_DONE,
           "single-sign-on"),
         A("Name a second engineer for the access review service", DONE_BY_HAND))),
    HeldReview("finance-systems",
        ((OPTIMISE, "Month-end close runs three hours and the legacy purchasing module still "
                    "holds open orders; spend the quarter on speed and on getting off the old "
                    "module, no new features."),),
        (A("Cut the month-end close report under half an hour", BACKLOG_DONE,
           "erp-general-ledger"),
         A("Set the shutdown date of the legacy purchasing module", DONE_BY_HAND)),
        "Jonas carries four stand-alone finance tools besides this cluster."),
    HeldReview("workplace-collaboration",
        ((CONTINUE, "Mail, chat and documents do what people need; keep them steady while the "
                    "file shares wind down into the document libraries."),),
        (A("Move the finance department's share into a document library", ON_BACKLOG,
           "document-management"),)),
    HeldReview("customer-engagement",
        ((INVEST, "Sole traders are stored twice and both the portal and the phones read the "
                  "wrong record; fund the customer record split in CRM first."),),
        (A("Check whether the feedback surveys need an owner of their own"),
         A("Show agents the customer's open cases when the phone rings", ON_BACKLOG,
           "crm"))),
    HeldReview("it-service-management",
        ((INVEST, "The catalogue went back into growth and requests through it doubled; "
                  "keep investing, and close the old helpdesk tool's loose ends."),),
        (A("Archive the knowledge articles about the old helpdesk tool", DONE_BY_HAND),
         A("Count the tickets that came from email without their attachments", BACKLOG_DONE,
           "service-desk-ticketing"))),
    HeldReview("workplace-odds-and-ends",
        ((SPLIT, "The three tools were put together only because each is small; they share "
                 "neither users nor data. Split them and give each a home that fits."),
         (RETIRE, "The canteen menu app duplicates the menu on the intranet; plan its end.")),
        (A("Propose a home for meeting room booking, visitor sign-in and the canteen app"),),
        "Grace runs these next to her day job; nobody asked for the grouping."),
    HeldReview("data-science-workbench",
        ((INVEST, "Forecasting pilots are waiting for governed access to the warehouse; fund "
                  "it so the workbench can leave its introduction."),),
        (A("Agree the access pattern to warehouse tables with the data platform team",
           DONE_BY_HAND),)),
    HeldReview("mobile-device-management",
        ((MERGE, "Device management belongs with identity and access: it reads the same "
                 "directory and the identity team already runs the sign-in side."),),
        (A("Hand mobile device management over to the identity and access cluster"),)),
    HeldReview("print-scan-service",
        ((OPTIMISE, "Most tickets are about toner; order it automatically and spend nothing "
                    "else on the service this year."),),
        (A("Order toner automatically from the printers' own counters", DONE_BY_HAND),)),
    HeldReview("geographic-information-system",
        ((CONTINUE, "Few users, steady use, no open risk; keep it running as it is."),),
        (A("Load the new flood-risk layer before the planning season"),)),
    HeldReview("treasury-management",
        ((OPTIMISE, "The bank is switching statement formats; do the import change and "
                    "nothing else this quarter."),),
        (A("Test the new statement format with the bank's sandbox", DONE_BY_HAND),)),
    HeldReview("fixed-asset-register",
        ((CONTINUE, "Stable and used once a month; no change needed beyond the new lease "
                    "rules."),),
        (A("Check what the new lease rules do to vehicle depreciation", DONE_BY_HAND),)),
    HeldReview("budget-planning",
        ((CONTINUE, "Budgeting season is in the autumn; keep it steady until then."),),
        (A("Ask finance whether weekly actuals are still good enough"),)),
    HeldReview("tax-reporting",
        ((MERGE, "Tax reporting has the same users as the finance cluster and reads the "
                 "ledger every day; run it inside Finance systems."),),
        (A("Draft the move of tax reporting into Finance systems"),)),
    HeldReview("digital-signage",
        ((CONTINUE, "Screens work; the only gap is a way to push an emergency notice."),),
        (A("Show an emergency notice on every screen in one step", ON_BACKLOG,
           "digital-signage"),)),
    HeldReview("enterprise-search",
        ((OPTIMISE, "People stop trusting search when wiki pages show up a day late; fix the "
                    "indexing before adding sources."),),
        (A("Index the team wiki within the hour", ON_BACKLOG, "enterprise-search"),)),
    HeldReview("video-portal",
        ((RETIRE, "Recorded meetings now live in the chat tool; most portal videos have not "
                  "been watched this year. Plan its retirement."),),
        (A("Count which portal videos are still watched", DONE_BY_HAND),
         A("Write the migration plan for the videos worth keeping"))),
    HeldReview("warehouse-order-interface",
        ((RECLASSIFY, "Replacing the interface with a gateway flow is one piece of work with "
                      "an end date; run it as a project and switch the old interface off "
                      "after."),),
        (A("Name a project lead and an end date for the replacement"),),
        "Nobody owns the interface; orders still arrive twice now and then."),
    HeldReview("legacy-sales-reporting",
        ((RETIRE, "The regional sales process is gone; hand the last two reports to the BI "
                  "platform and switch the tool off by the end of the year."),),
        (A("Move the last two reports to the BI platform"),)),
    HeldReview("contract-management",
        ((MERGE, "Contracts are read by the same buyers and accountants as procurement; run "
                 "the tool inside Finance systems."),),
        (A("Find a new owner for contract management"),)),
    HeldReview("field-service-scheduling",
        ((CONTINUE, "Engineers rely on it every day; keep it running while an owner is found."),),
        (A("Hand field service scheduling to customer systems"),)),
    HeldReview("legal-hold-tool",
        ((CONTINUE, "Legal needs it for two open cases; keep it running unchanged."),
         (RECLASSIFY, "Holds on chat messages are a one-off extension with a deadline; "
                      "deliver them as a project.")),
        (A("Ask legal to name an owner for the tool"),)),
    HeldReview("facilities-helpdesk",
        ((RETIRE, "Facilities faults can go through the service desk like every other "
                  "request; plan to move them and switch this tool off."),),
        (A("Set up a facilities queue in service desk ticketing"),)),
]  # fmt: skip

del A

# A unit that became reviewable after the spec was written: held without a change of course.
DEFAULT_HELD = HeldReview(
    "", ((CONTINUE, "Nothing in the packet calls for a change of course; keep it as it is."),)
)


# --- Funding -------------------------------------------------------------------------------
# This fiscal year's allocation for every current unit (keyed on its cluster's slug or its
# product's), amounts in the organisation's currency. Mature platforms cost more to run than
# to improve; growth products get the bigger improvement share. The neglected units are
# funded reactively (money only when something breaks), the project-managed items per project.

CAPACITY, PROJECT, REACTIVE = (m.value for m in FundingMode)


@dataclass(frozen=True)
class AllocationSpec:
    unit: str
    operations: str
    improvement: str
    mode: str = CAPACITY
    note: str = ""


F = AllocationSpec

ALLOCATIONS: list[AllocationSpec] = [
    # Clusters
    F("employee-experience", "420000.00", "260000.00",
      note="Most of the improvement money is for the HR portal's new platform and the "
      "company-wide onboarding roll-out."),
    F("data-analytics", "380000.00", "300000.00",
      note="Running the warehouse and its loads; improvement for self-service reporting and "
      "faster nightly loads."),
    F("integration-platforms", "520000.00", "150000.00",
      note="Critical shared plumbing: kept running first; event streaming has to earn more."),
    F("identity-access", "450000.00", "220000.00",
      note="Sign-in for everyone; the improvement share goes to privileged accounts first."),
    F("finance-systems", "610000.00", "120000.00",
      note="Mature systems with a month-end to protect; improvement is for speed and for "
      "leaving the legacy purchasing module."),
    F("workplace-collaboration", "700000.00", "90000.00",
      note="Licences and running costs dominate; little change is planned besides emptying "
      "the file shares."),
    F("customer-engagement", "350000.00", "340000.00",
      note="The portal is still growing; the customer record comes first."),
    F("it-service-management", "300000.00", "260000.00",
      note="Back on a capacity budget after years of paying only for fixes; the catalogue "
      "rebuild is the first call on it."),
    F("workplace-odds-and-ends", "40000.00", "10000.00",
      note="Three small tools with a small budget until each finds a better home."),
    # Products in units of their own
    F("data-science-workbench", "30000.00", "90000.00",
      note="A pilot: most of the money is for making it useful to the forecasters."),
    F("mobile-device-management", "110000.00", "20000.00"),
    F("print-scan-service", "85000.00", "0.00", REACTIVE,
      note="Paid for when a printer or the toner contract needs it; nobody plans its future."),
    F("geographic-information-system", "45000.00", "25000.00"),
    F("treasury-management", "60000.00", "15000.00"),
    F("fixed-asset-register", "25000.00", "5000.00"),
    F("budget-planning", "35000.00", "10000.00"),
    F("tax-reporting", "30000.00", "20000.00"),
    F("digital-signage", "15000.00", "5000.00"),
    F("enterprise-search", "50000.00", "40000.00"),
    F("video-portal", "20000.00", "8000.00"),
    F("campus-switch-replacement", "0.00", "480000.00", PROJECT,
      note="The project's budget, agreed when the switches' end of support was announced."),
    F("datacentre-server-refresh", "20000.00", "650000.00", PROJECT,
      note="Hardware, migration effort and a few weeks of running both old and new hosts."),
    F("acquired-company-hr-import", "0.00", "60000.00", PROJECT,
      note="A one-time load; the money ends with the reconciliation."),
    F("e-invoicing-compliance", "0.00", "210000.00", PROJECT,
      note="Sized to the legal deadline, not to a product's year."),
    F("email-archive-migration", "0.00", "95000.00", PROJECT),
    F("warehouse-order-interface", "40000.00", "0.00", REACTIVE,
      note="Money only when orders go missing; nobody owns a plan for it."),
    F("legacy-sales-reporting", "5000.00", "0.00", REACTIVE,
      note="Kept alive until the last reports move to the BI platform."),
    F("contract-management", "18000.00", "0.00", REACTIVE,
      note="Its owner left; the licence is paid and fixes are bought when something breaks."),
    F("field-service-scheduling", "40000.00", "60000.00",
      note="The roll-out's money is there, but nobody is left to spend it."),
    F("legal-hold-tool", "12000.00", "0.00", REACTIVE),
    F("facilities-helpdesk", "22000.00", "0.00", REACTIVE),
]  # fmt: skip

# Last year's, for a few units, so the funding pages show the move away from projects and
# fixes: customer engagement's portal was a project, the service management tools were paid
# for only when they broke.
LAST_YEAR_ALLOCATIONS: list[AllocationSpec] = [
    F("customer-engagement", "330000.00", "180000.00", PROJECT,
      note="The portal was still a project with an end date."),
    F("it-service-management", "240000.00", "0.00", REACTIVE,
      note="Fixes only; the catalogue drifted away from what people order."),
    F("data-analytics", "360000.00", "190000.00"),
]  # fmt: skip

del F

# Investment requests for this fiscal year, asked by each unit's owner (their login) and
# submitted in this order, so the rules see the same remaining capacity every time. They
# follow last quarter's review decisions. What happens to each: AUTO, approved by the rules
# (at or below the governance threshold and within capacity); WAITING, left in the leaders'
# queue; APPROVE and REJECT, decided by the demo leader with `reason`; WITHDRAW, withdrawn by
# the owner while it waited. Keyed on (product, fiscal year, purpose).
AUTO, WAITING, APPROVE, REJECT, WITHDRAW = "auto", "waiting", "approve", "reject", "withdraw"


@dataclass(frozen=True)
class AskSpec:
    product: str
    amount: str
    purpose: str
    metric: str | None = None  # the key of one of the product's metrics
    effect: str = ""
    outcome: str = AUTO
    reason: str = ""
    asked: int = 30  # days before the first build it was submitted
    decided: int | None = None  # days before the first build a leader (or the owner) acted


Q = AskSpec

INVESTMENT_REQUESTS: list[AskSpec] = [
    Q("onboarding-offboarding", "65000.00",
      "Add the facilities and legal steps to the joiner and leaver workflow, so badges, "
      "desks and contracts are ready on the same day as the laptop.",
      CT, "New starters wait three days for everything instead of nine.", asked=41),
    Q("data-integration-pipelines", "60000.00",
      "Load only what changed since the last run instead of reloading every table each "
      "night.", ER, "Failed loads drop below one in a hundred and the morning reports are "
      "ready by eight.", asked=38),
    Q("bi-reporting-platform", "80000.00",
      "Report-builder licences and a training course for forty analysts in the business.",
      AD, "Four in ten managers build or change their own dashboard within a year.",
      asked=36),
    Q("privileged-access-management", "45000.00",
      "Hardware security keys for every administrator, and recorded sessions on the cloud "
      "consoles.", BO, "No administrator signs in with a password and a text message any "
      "more.", asked=35),
    Q("service-catalogue", "70000.00",
      "Rebuild the thirty most ordered catalogue items around what people actually ask for, "
      "with prices and delivery times.", AD, "Half of all requests come in through the "
      "catalogue instead of by email.", asked=34),
    Q("service-desk-ticketing", "130000.00",
      "Move ticketing to the vendor's cloud edition before the on-site version loses "
      "support, keeping the ticket history.", MT, "Time to resolve stays flat through the "
      "move and drops by a fifth once routing rules are rebuilt.", APPROVE,
      "The on-site version loses support in March and the service desk cannot run without "
      "it. Approved; report the resolution times at the next review.", asked=33, decided=27),
    Q("data-science-workbench", "35000.00",
      "Governed read access to the warehouse tables and GPU time for the two forecasting "
      "pilots.", AD, "Both pilots run on real data and a third team asks to join.",
      asked=31),
    Q("crm", "95000.00",
      "Split sole traders into one customer record, so the portal and the phones read the "
      "same one.", TK, "Tickets about duplicate or wrong customer records fall by two "
      "thirds.", asked=29),
    Q("erp-general-ledger", "48000.00",
      "Speed up the month-end close: run the consolidation report on a read replica and "
      "drop the manual reconciliations.", CT, "The close report runs in under half an hour "
      "instead of three.", asked=27),
    Q("document-management", "60000.00",
      "Move the remaining departmental shares into document libraries with retention "
      "labels applied automatically.", AD, "Every department works from a library and the "
      "file shares can be switched off on time.", asked=24),
    Q("enterprise-search", "25000.00",
      "Index team wiki pages as they are saved instead of once a night.", TK,
      "Tickets about missing search results stop.", asked=22),
    Q("mobile-device-management", "12000.00",
      "Zero-touch enrolment, so a new phone sets itself up without a visit to the service "
      "desk.", TK, "Enrolment tickets fall by half.", asked=20),
    Q("datacentre-server-refresh", "40000.00",
      "One more storage shelf: the last two databases need more room than the hosts were "
      "sized for.", asked=18),
    Q("event-streaming", "180000.00",
      "A second event streaming cluster in the other data centre, so publishing survives "
      "the loss of a site.", AD, "Teams can put business-critical events on the platform.",
      REJECT, "Not yet: eight people use the platform and no production flow depends on it. "
      "Show two production consumers first, then ask again for a standby site.",
      asked=26, decided=19),
    Q("contact-centre-telephony", "150000.00",
      "Transcribe and summarise every recorded call automatically.", BO,
      "Agents spend a minute less on each call's notes.", REJECT,
      "The review put the customer record first this year, and the telephony contract is "
      "tendered next spring: bring transcription into that tender.", asked=21, decided=14),
    Q("access-request-review", "120000.00",
      "Buy an identity governance suite to run the twice-yearly access reviews.", CT,
      "Managers finish a review in a week instead of a month.", WITHDRAW,
      asked=25, decided=16),
    Q("hr-self-service-portal", "210000.00",
      "Move the HR portal off its unsupported application server onto the company's "
      "container platform, and rebuild the leave pages on the way.", TK,
      "Month-end support tickets fall back to last year's level and no part of the portal "
      "runs on unsupported software.", WAITING, asked=12),
    Q("customer-self-service-portal", "240000.00",
      "Let customers pay invoices and change deliveries online.", BO,
      "Three in four customer questions are settled without a phone call.", WAITING,
      asked=9),
    Q("managed-file-transfer", "125000.00",
      "Replace the file-transfer servers before their support ends, with delivery receipts "
      "for every bank file.", ER, "No payment file is lost or sent twice.", WAITING,
      asked=6),
    Q("tax-reporting", "35000.00",
      "Reconcile the VAT return with payables automatically.", CT,
      "The quarterly return takes two days instead of a week.", WAITING, asked=4),
]  # fmt: skip

del Q


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


CURRENT_CYCLE_DAYS = 10  # working days the current quarter's reviews are spread over


ANALYTICS_HISTORY_WEEKS = 3  # weekly snapshots before the first build (crowding needs 3 of 4)


@dataclass
class BuildReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[kind] = bucket.get(kind, 0) + 1


class _Builder:
    def __init__(self, log: Callable[[str], None], pdfs: bool = True) -> None:
        self.log = log
        self.pdfs = pdfs
        self.today = timezone.localdate()
        self.report = BuildReport()
        self.users: dict[str, object] = {}
        self.people: dict[str, Person] = {}
        self.teams: dict[str, Team] = {}
        self.clusters: dict[str, Cluster] = {}
        self.products: dict[str, Product] = {}
        self.actor = None
        self.funding_changed = False  # a build that writes funding recomputes the analytics

    # Logins -------------------------------------------------------------------------------
    def users_and_groups(self) -> None:
        User = get_user_model()
        encoded = make_password(demo_password(), salt=_DEMO_SALT)
        leaders, _ = Group.objects.get_or_create(name=LEADERS_GROUP)
        wanted = [(spec.username, spec.email, spec) for spec in PEOPLE if spec.login]
        wanted.append((ADMIN_USERNAME, f"admin@{EMAIL_DOMAIN}", None))
        for username, email, spec in wanted:
            first, _, last = spec.name.partition(" ") if spec else ("", "", "")
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": email, "first_name": first, "last_name": last},
            )
            changed = created
            if user.password != encoded:
                user.password = encoded
                changed = True
            if spec is None and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                changed = True
            if changed:
                user.save()
                self.report.count("login", created)
            if spec is not None and spec.leader:
                user.groups.add(leaders)
            self.users[username] = user
        self.actor = self.users["leader"]

    # People and teams ---------------------------------------------------------------------
    def people_(self) -> None:
        for spec in PEOPLE:
            user = self.users.get(spec.username)
            person = Person.objects.filter(email=spec.email).first()
            if person is None:
                person = person_create(
                    actor=self.actor,
                    name=spec.name,
                    email=spec.email,
                    title=spec.title,
                    user=user,
                )
                self.report.count("person", True)
            else:
                changes = {}
                if person.name != spec.name:
                    changes["name"] = spec.name
                if person.title != spec.title:
                    changes["title"] = spec.title
                if user is not None and person.user_id != user.pk:
                    changes["user"] = user
                if changes:
                    person = person_update(actor=self.actor, person=person, **changes)
                    self.report.count("person", False)
            self.people[spec.username] = person

    def teams_(self) -> None:
        for spec in TEAMS:
            members = [self.people[m] for m in spec.members]
            team = Team.objects.filter(slug=spec.slug).first()
            if team is None:
                team = team_create(
                    actor=self.actor,
                    name=spec.name,
                    slug=spec.slug,
                    members=members,
                    description=spec.description,
                )
                self.report.count("team", True)
            elif (
                team.name != spec.name
                or team.description != spec.description
                or set(team.members.values_list("pk", flat=True)) != {p.pk for p in members}
            ):
                team = team_update(
                    actor=self.actor,
                    team=team,
                    name=spec.name,
                    description=spec.description,
                    members=members,
                )
                self.report.count("team", False)
            self.teams[spec.slug] = team

    # Clusters -----------------------------------------------------------------------------
    def clusters_(self) -> None:
        for spec in CLUSTERS:
            owner = self.people[spec.owner] if spec.owner else None
            fields = {
                "name": spec.name,
                "description": spec.description,
                "reasons": list(spec.reasons),
                "reason_note": spec.reason_note,
            }
            cluster = Cluster.objects.select_related("unit").filter(slug=spec.slug).first()
            if cluster is None:
                cluster = cluster_create(actor=self.actor, slug=spec.slug, owner=owner, **fields)
                self.report.count("cluster", True)
            else:
                changes = {k: v for k, v in fields.items() if getattr(cluster, k) != v}
                if cluster.unit.owner_id != (owner.pk if owner else None) and (
                    owner is None or owner.is_accountable
                ):
                    changes["owner"] = owner
                if changes:
                    cluster = cluster_update(actor=self.actor, cluster=cluster, **changes)
                    self.report.count("cluster", False)
            self.clusters[spec.slug] = cluster

    # Products -----------------------------------------------------------------------------
    def _fields(self, spec: ProductSpec) -> dict:
        is_project = spec.project_ends_in_days is not None
        return {
            "name": spec.name,
            "kind": spec.kind,
            "description": spec.description,
            "user_groups": "\n".join(spec.user_groups),
            "user_count": spec.user_count,
            "key_use_cases": "\n".join(spec.use_cases),
            "business_capabilities": "\n".join(spec.capabilities),
            "criticality": spec.criticality,
            "strategic": spec.strategic,
            "under_significant_change": spec.significant_change,
            "management_model": ManagementModel.PROJECT if is_project else ManagementModel.PRODUCT,
            "team": self.teams[spec.team] if spec.team else None,
        }

    def products_(self) -> None:
        for spec in PRODUCTS:
            fields = self._fields(spec)
            cluster = self.clusters[spec.cluster] if spec.cluster else None
            owner = self.people[spec.owner] if spec.owner else None
            external_ids = [(CMDB, spec.cmdb_id)] if spec.in_cmdb else []
            product = Product.objects.select_related("unit").filter(slug=spec.slug).first()
            if product is None:
                if spec.project_ends_in_days is not None:
                    fields["project_end_date"] = self.today + dt.timedelta(
                        days=spec.project_ends_in_days
                    )
                product = product_create(
                    actor=self.actor,
                    slug=spec.slug,
                    cluster=cluster,
                    owner=owner,
                    external_ids=external_ids,
                    lifecycle_stage=spec.path[0],
                    **fields,
                )
                self.report.count("product", True)
            else:
                product = self._update_product(product, spec, fields, external_ids)
                if product.cluster != cluster and product.lifecycle_stage != RETIRED:
                    product = product_set_cluster(
                        actor=self.actor, product=product, cluster=cluster, new_owner=owner
                    )
                if (
                    cluster is None
                    and product.unit.owner_id != (owner.pk if owner else None)
                    and (owner is None or owner.is_accountable)
                ):
                    unit_assign_owner(actor=self.actor, unit=product.unit, owner=owner)
            self.products[spec.slug] = product

    def _update_product(self, product, spec, fields, external_ids) -> Product:
        changes = {k: v for k, v in fields.items() if getattr(product, k) != v}
        if "management_model" in changes or (
            spec.project_ends_in_days is not None and product.project_end_date is None
        ):
            changes["project_end_date"] = (
                self.today + dt.timedelta(days=spec.project_ends_in_days)
                if spec.project_ends_in_days is not None
                else None
            )
        current_ids = sorted(product.external_ids.values_list("source", "external_id"))
        if current_ids != sorted(external_ids):
            changes["external_ids"] = external_ids
        if changes:
            product = product_update(actor=self.actor, product=product, **changes)
            self.report.count("product", False)
        return product

    def dependencies(self) -> None:
        for spec in PRODUCTS:
            product = self.products[spec.slug]
            wanted = {self.products[slug].pk for slug in spec.depends_on}
            current = set(product.dependencies.values_list("pk", flat=True))
            if current != wanted:
                product_update(
                    actor=self.actor,
                    product=product,
                    dependencies=[self.products[slug] for slug in spec.depends_on],
                )
                self.report.count("dependency list", not current)

    # Lifecycle ----------------------------------------------------------------------------
    def lifecycles(self) -> None:
        for spec in PRODUCTS:
            product = Product.objects.get(pk=self.products[spec.slug].pk)
            current = product.lifecycle_stage
            if current == spec.stage or current not in spec.path:
                continue  # done, or moved by hand to a stage outside the demo's path
            start = len(spec.path) - 1 - spec.path[::-1].index(current)
            for to_stage in spec.path[start + 1 :]:
                self._move(spec, product, to_stage)
                product.lifecycle_stage = to_stage

    def history_dates(self) -> None:
        """Give each product a past: it entered the portfolio one to six years ago, and its
        recorded lifecycle moves are spread from then to between one month and about a year
        ago, so pages and packets show how long a product has been in its stage. Only rows
        the seed has just written move (a product already dated is left alone), so a re-seed
        changes nothing."""
        fresh = timezone.now() - dt.timedelta(days=2)
        for spec in PRODUCTS:
            product = Product.objects.get(pk=self.products[spec.slug].pk)
            if product.created_at < fresh:
                continue
            h = int(hashlib.sha256(spec.slug.encode()).hexdigest(), 16)
            entered = timezone.now() - dt.timedelta(days=365 * (1 + h % 6) + h % 90)
            last_move = timezone.now() - dt.timedelta(days=30 + (h // 7) % 330)
            moves = list(LifecycleTransition.objects.filter(product=product).order_by("at", "pk"))
            steps = max(len(moves) - 1, 1)
            for i, move in enumerate(moves):
                at = entered + (last_move - entered) * (i / steps) if i else entered
                LifecycleTransition.objects.filter(pk=move.pk).update(at=at)
            stage_since = last_move if len(moves) > 1 else entered
            Product.objects.filter(pk=product.pk).update(
                created_at=entered, stage_changed_at=stage_since
            )

    def _move(self, spec: ProductSpec, product: Product, to_stage: str) -> None:
        from_stage = product.lifecycle_stage
        reason = spec.reasons.get(to_stage) or DEFAULT_REASONS.get((from_stage, to_stage), "")
        plan = None
        override = False
        retirement = spec.retirement
        if to_stage == RETIREMENT:
            assert retirement is not None, f"{spec.slug} enters retirement without a plan"
            plan = MigrationPlanInput(
                planned_end_date=self.today + dt.timedelta(days=retirement.ends_in_days),
                targets=[self.products[slug] for slug in retirement.targets],
                capability_dropped=bool(retirement.dropped_reason),
                dropped_reason=retirement.dropped_reason,
            )
        elif to_stage == RETIRED:
            if retirement and retirement.override_reason:
                override, reason = True, retirement.override_reason
            else:
                migration_plan_mark_done(actor=self.actor, product=product)
        product_transition(
            actor=self.actor,
            product=product,
            to_stage=to_stage,
            reason=reason,
            migration_plan=plan,
            override=override,
        )
        self.report.count("transition", True)

    # Backlogs ----------------------------------------------------------------------------
    def backlogs(self) -> None:
        now = timezone.now()
        existing = set(BacklogItem.objects.values_list("unit_id", "title"))
        for spec in BACKLOGS:
            product = Product.objects.get(pk=self.products[spec.product].pk)
            if (product.unit_id, spec.title) in existing:
                continue
            item = backlog_item_create(
                actor=self.actor,
                product=product,
                title=spec.title,
                description=spec.description,
                type=spec.type,
                dimension=spec.dimension,
                status=spec.status,
                estimate=None if spec.estimate is None else decimal.Decimal(str(spec.estimate)),
                source=spec.source,
            )
            existing.add((product.unit_id, spec.title))
            self.report.count("backlog item", True)

            def ago(days: int | None) -> dt.datetime | None:
                return None if days is None else now - dt.timedelta(days=days)

            created, started, finished = ago(spec.age), ago(spec.started), ago(spec.finished)
            if spec.stale:
                touched = created
            elif finished is not None:
                touched = finished
            else:  # open and looked after: touched in the last two weeks
                touched = ago(min(spec.age, 14))
            # created_at and updated_at are automatic; set the story's dates afterwards.
            BacklogItem.objects.filter(pk=item.pk).update(
                created_at=created, updated_at=touched, started_at=started, finished_at=finished
            )

    # Metrics and readings -----------------------------------------------------------------
    def metrics_(self) -> None:
        """The metrics of METRIC_SETS and their readings up to now.

        A metric's story is counted from its first build: `created_at` is set HISTORY_DAYS
        before that day, and readings come at its expected interval from there. A later build
        sends only the readings that came due since the latest one, through the same ingest
        path a monitoring system uses (which keeps the metric's latest reading up to date).
        """
        now = timezone.now()
        first_build = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        history = dt.timedelta(days=HISTORY_DAYS)
        currency = PortfolioSettings.load().currency
        existing = {
            (m.product_id, m.key): m for m in Metric.objects.filter(product__slug__in=METRIC_SETS)
        }
        rows: list[dict] = []
        for slug, keys in METRIC_SETS.items():
            product = self.products[slug]
            for key in keys:
                fields = _metric_fields(slug, key, currency)
                metric = existing.get((product.pk, key))
                if metric is None:
                    metric = metric_create(
                        actor=self.actor,
                        product=product,
                        template=key,
                        name=fields["name"],
                        expected_interval=fields["expected_interval"],
                    )
                    metric.created_at = first_build - history
                    Metric.objects.filter(pk=metric.pk).update(created_at=metric.created_at)
                    self.report.count("metric", True)
                else:
                    changes = {k: v for k, v in fields.items() if getattr(metric, k) != v}
                    if changes:
                        metric = metric_update(actor=self.actor, metric=metric, **changes)
                        self.report.count("metric", False)
                story = STORIES.get((slug, key), STEADY)
                anchor = metric.created_at + history
                source = SOURCES[metric.dimension]
                for at, value in story_readings(slug, metric, story, anchor, now):
                    if metric.last_read_at is None or at > metric.last_read_at:
                        rows.append(
                            {
                                "metric": metric.pk,
                                "time": at.isoformat(),
                                "value": value,
                                "source": source,
                            }
                        )
        created = 0
        for start in range(0, len(rows), MAX_READINGS):
            batch = rows[start : start + MAX_READINGS]
            created += readings_ingest(actor=self.actor, rows=batch, default_source="demo").created
        if created:
            self.report.created["reading"] = self.report.created.get("reading", 0) + created

    # Departures and switched-off logins ---------------------------------------------------
    def departures(self) -> None:
        for spec in PEOPLE:
            person = Person.objects.get(pk=self.people[spec.username].pk)
            if spec.departed_days_ago is not None and person.active:
                person_update(
                    actor=self.actor,
                    person=person,
                    active=False,
                    departed_on=self.today - dt.timedelta(days=spec.departed_days_ago),
                )
                self.report.count("departure", True)
            user = self.users.get(spec.username)
            if user is not None and user.is_active == spec.login_disabled:
                user.is_active = not spec.login_disabled
                user.save(update_fields=["is_active"])
                self.report.count("login switched off" if spec.login_disabled else "login", True)

    # Quarterly reviews --------------------------------------------------------------------
    def _unit_keys(self) -> dict[int, str]:
        """Unit id -> the slug HELD_REVIEWS names it by (its cluster's or its product's)."""
        units = OwnershipUnit.objects.all()
        keys = dict(units.filter(cluster__isnull=False).values_list("pk", "cluster__slug"))
        keys.update(units.filter(product__isnull=False).values_list("pk", "product__slug"))
        return keys

    def _meeting_at(self, review: Review) -> dt.datetime:
        """When a review's meeting started: from nine in the morning, an hour each."""
        start = dt.time(9 + min(review.position, 8))
        return timezone.make_aware(dt.datetime.combine(review.scheduled_on, start))

    def _not_after_now(self, moment: dt.datetime) -> dt.datetime:
        return min(moment, timezone.now() - dt.timedelta(hours=1))

    def reviews_past(self) -> None:
        """Last quarter's cycle, held in full: every review closed with its decisions and
        action items, and the follow-through since (some done, some on the backlog, some not).

        Each packet is built with the clock set to three days before its meeting, as the
        leader would have asked for it then. Decisions, actions and the closing go through
        the services; their dates are then moved back to the meeting, as the backlog's are.
        A review already closed is left as it is, so seeding again records nothing twice.
        """
        year, quarter = previous_quarter(*quarter_of(self.today))
        cycle = ReviewCycle.objects.filter(year=year, quarter=quarter).first()
        if cycle is None:
            result = cycle_schedule(actor=self.actor, year=year, quarter=quarter)
            cycle = result.cycle
            self.report.count("review cycle", True)
            self.report.created["review"] = self.report.created.get("review", 0) + result.created
        if cycle.status == CycleStatus.CLOSED:
            return
        cycle_generate_packets(actor=self.actor, cycle=cycle, dispatch=False)
        pending = Packet.objects.filter(review__cycle=cycle, status=PacketStatus.PENDING)
        for packet in pending.select_related("review"):
            at = self._meeting_at(packet.review) - dt.timedelta(days=3)
            data = build_packet_data(packet.review, now=at)
            Packet.objects.filter(pk=packet.pk, status=PacketStatus.PENDING).update(
                data=data,
                html=render_packet_html(data),
                status=PacketStatus.DONE,
                requested_at=at - dt.timedelta(minutes=5),
                generated_at=at,
            )
            self.report.count("review packet", True)
        held = {spec.unit: spec for spec in HELD_REVIEWS}
        keys = self._unit_keys()
        reviews = cycle.reviews.filter(status=ReviewStatus.SCHEDULED).in_agenda_order()
        for review in reviews.select_related("unit__owner"):
            self._hold(review, held.get(keys.get(review.unit_id, ""), DEFAULT_HELD))
        cycle_close(actor=self.actor, cycle=cycle)

    def _hold(self, review: Review, spec: HeldReview) -> None:
        met = self._meeting_at(review)
        for kind, rationale in spec.decisions:
            decision_record(actor=self.actor, review=review, kind=kind, rationale=rationale)
            self.report.count("review decision", True)
        owner = review.unit.owner
        if owner is None or not owner.is_accountable:
            owner = self.people["leader"]  # nobody accountable: the chair takes the action
        items = [
            (
                action_item_create(
                    actor=self.actor,
                    review=review,
                    title=action.title,
                    owner=owner,
                    due_on=review.scheduled_on + dt.timedelta(weeks=6),
                ),
                action,
            )
            for action in spec.actions
        ]
        review_close(actor=self.actor, review=review, summary=spec.summary)
        Decision.objects.filter(review=review).update(created_at=met, updated_at=met)
        ActionItem.objects.filter(review=review).update(created_at=met, updated_at=met)
        Review.objects.filter(pk=review.pk).update(closed_at=met + dt.timedelta(minutes=50))
        for item, action in items:
            self.report.count("review action item", True)
            self._follow_through(item, action, met)

    def _follow_through(self, item: ActionItem, action: ActionSpec, met: dt.datetime) -> None:
        if action.follow == DONE_BY_HAND:
            action_item_set_done(actor=self.actor, item=item, done=True)
            done_at = self._not_after_now(met + dt.timedelta(weeks=3))
            ActionItem.objects.filter(pk=item.pk).update(done_at=done_at, updated_at=done_at)
            return
        if action.follow not in (ON_BACKLOG, BACKLOG_DONE):
            return
        product = self.products[action.product] if action.product else None
        backlog_item = action_item_to_backlog(actor=self.actor, item=item, product=product)
        finished = action.follow == BACKLOG_DONE
        backlog_item_update(
            actor=self.actor,
            item=backlog_item,
            status=ItemStatus.DONE if finished else ItemStatus.IN_PROGRESS,
        )
        created = met + dt.timedelta(days=1)
        started = self._not_after_now(met + dt.timedelta(weeks=2))
        done = self._not_after_now(met + dt.timedelta(weeks=6)) if finished else None
        BacklogItem.objects.filter(pk=backlog_item.pk).update(
            created_at=created, started_at=started, finished_at=done, updated_at=done or started
        )
        self.report.count("backlog item", True)

    def reviews_current(self) -> ReviewCycle | None:
        """This quarter's cycle, scheduled through the service over the CURRENT_CYCLE_DAYS
        working days from today, so the first reviews are today and in the next few days
        (reminders, "reviews due", readiness "review scheduled") and none is held yet.
        Seeding again adds only units that became reviewable since."""
        year, quarter = quarter_of(self.today)
        cycle = ReviewCycle.objects.filter(year=year, quarter=quarter).first()
        if cycle is not None and cycle.status == CycleStatus.CLOSED:
            return None
        if cycle is None:
            start = self.today
            while start.weekday() >= 5:
                start += dt.timedelta(days=1)
            end = start + dt.timedelta(days=(CURRENT_CYCLE_DAYS - 1) // 5 * 7 + 4)
            result = cycle_schedule(
                actor=self.actor, year=year, quarter=quarter, starts_on=start, ends_on=end
            )
            self.report.count("review cycle", True)
        else:
            result = cycle_schedule(actor=self.actor, year=year, quarter=quarter)
        if result.created:
            self.report.created["review"] = self.report.created.get("review", 0) + result.created
        return result.cycle

    def current_packets(self, cycle: ReviewCycle | None) -> None:
        """Every scheduled review's packet, built as the worker would (data and HTML); the
        PDFs of the first day's agenda only, when `self.pdfs` (about a second each)."""
        if cycle is None:
            return
        cycle_generate_packets(actor=self.actor, cycle=cycle, dispatch=False)
        pending = Packet.objects.filter(review__cycle=cycle, status=PacketStatus.PENDING)
        for packet_id in pending.order_by("pk").values_list("pk", flat=True):
            generate_packet(packet_id, pdf=False)
            self.report.count("review packet", True)
        if not self.pdfs:
            return
        ahead = cycle.reviews.filter(status=ReviewStatus.SCHEDULED, scheduled_on__gte=self.today)
        first_day = ahead.aggregate(day=Min("scheduled_on"))["day"]
        unprinted = Packet.objects.filter(
            review__in=ahead.filter(scheduled_on=first_day),
            status=PacketStatus.DONE,
            pdf_at__isnull=True,
        )
        for packet_id in unprinted.order_by("pk").values_list("pk", flat=True):
            render_pdf(packet_id)
            self.report.count("packet PDF", True)

    # Funding ------------------------------------------------------------------------------
    def _current_units(self) -> dict[str, OwnershipUnit]:
        """Current units by the slug the funding lists name them by (cluster's or product's)."""
        units = OwnershipUnit.objects.current().select_related("cluster", "product")
        return {(u.cluster or u.product).slug: u for u in units}

    def allocations(self) -> None:
        """This year's allocation for every unit in ALLOCATIONS and last year's for a few, set
        by the demo leader. One that differs from the definition is set back to it, unless
        requests approved since leave too little improvement money for that."""
        units = self._current_units()
        year = self.today.year
        wanted = [(year, spec) for spec in ALLOCATIONS]
        wanted += [(year - 1, spec) for spec in LAST_YEAR_ALLOCATIONS]
        existing = {
            (a.unit_id, a.fiscal_year): a
            for a in FundingAllocation.objects.filter(fiscal_year__in=(year, year - 1))
        }
        for fiscal_year, spec in wanted:
            unit = units.get(spec.unit)
            if unit is None:
                continue  # split or merged by hand since: not the demo's to fund
            current = existing.get((unit.pk, fiscal_year))
            fields = {
                "operations_amount": decimal.Decimal(spec.operations),
                "improvement_amount": decimal.Decimal(spec.improvement),
                "mode": spec.mode,
                "note": spec.note,
            }
            if current is not None and all(getattr(current, k) == v for k, v in fields.items()):
                continue
            try:
                allocation_set(actor=self.actor, unit=unit, fiscal_year=fiscal_year, **fields)
            except RuleViolation:
                continue
            self.report.count("funding allocation", current is None)
            self.funding_changed = True

    def investment_requests(self) -> None:
        """INVESTMENT_REQUESTS through the services: each owner asks and submits (the rules
        approve what they may), then the demo leader decides or the owner withdraws. Dates are
        moved back afterwards, as the backlog's are. A request already there is left alone,
        whatever happened to it since."""
        year = self.today.year
        now = timezone.now()
        decider = self.users["leader"]
        existing = set(
            InvestmentRequest.objects.filter(fiscal_year=year).values_list("product_id", "purpose")
        )
        for spec in INVESTMENT_REQUESTS:
            product = Product.objects.select_related("unit__owner__user").get(
                pk=self.products[spec.product].pk
            )
            if (product.pk, spec.purpose) in existing:
                continue
            owner = product.unit.owner
            if owner is None or owner.user is None or not owner.is_accountable:
                continue  # nobody accountable to ask
            if owner.user_id == decider.pk:
                raise RuntimeError(f"the demo leader owns {product.unit.name}; pick another unit")
            metric = (
                Metric.objects.filter(product=product, key=spec.metric).first()
                if spec.metric
                else None
            )
            request = request_create(
                actor=owner.user,
                product=product,
                amount=decimal.Decimal(spec.amount),
                purpose=spec.purpose,
                metric=metric,
                expected_effect=spec.effect,
                fiscal_year=year,
                submit=True,
            )
            existing.add((product.pk, spec.purpose))
            self.report.count("investment request", True)
            self.funding_changed = True
            waiting = request.status == RequestStatus.SUBMITTED
            if waiting and spec.outcome == APPROVE:
                request = request_approve(actor=decider, request=request, reason=spec.reason)
            elif waiting and spec.outcome == REJECT:
                request = request_reject(actor=decider, request=request, reason=spec.reason)
            elif waiting and spec.outcome == WITHDRAW:
                request = request_withdraw(actor=owner.user, request=request)
            asked = now - dt.timedelta(days=spec.asked)
            if request.auto_approved:
                decided = asked
            elif request.status == RequestStatus.SUBMITTED:
                decided = None
            else:
                decided = now - dt.timedelta(days=spec.decided or 0)
            # created_at and updated_at are automatic; set the story's dates afterwards.
            InvestmentRequest.objects.filter(pk=request.pk).update(
                created_at=asked - dt.timedelta(hours=2),
                submitted_at=asked,
                decided_at=decided,
                updated_at=decided or asked,
            )

    # Analytics ----------------------------------------------------------------------------
    def analytics(self, *, again_today: bool = False) -> None:
        """A finished analytics snapshot from today, as the hourly job would leave one.

        The first build (no snapshot at all yet) first computes ANALYTICS_HISTORY_WEEKS
        weekly snapshots with the clock set back one, two and three weeks, so the rules that
        read earlier snapshots have a past: an owner over the ceiling in consecutive snapshots
        (a design problem) and crowding seen in enough weekly snapshots. Later builds add at
        most one snapshot a day, none if one finished today, so seeding again and again does
        not pile them up; the dashboard's "Recompute now" makes a fresh one any time.
        """
        now = timezone.now()
        snapshots = Snapshot.objects.all()
        today = snapshots.filter(status=SnapshotStatus.DONE, started_at__date=timezone.localdate())
        if today.exists() and not again_today:
            return
        if not snapshots.exists():
            for weeks in range(ANALYTICS_HISTORY_WEEKS, 0, -1):
                self._snapshot(now - dt.timedelta(weeks=weeks))
        self._snapshot(now)

    def _snapshot(self, at: dt.datetime) -> None:
        started = time.monotonic()
        snapshot = run_snapshot(trigger=Trigger.SCHEDULE, wait=True, now=at)
        # A run with the clock set back finishes as long after its start as it took.
        took = dt.timedelta(seconds=time.monotonic() - started)
        Snapshot.objects.filter(pk=snapshot.pk).update(finished_at=at + took)
        self.report.count("analytics snapshot", True)

    def run(self) -> BuildReport:
        PortfolioSettings.load()
        self.users_and_groups()
        self.log(f"logins ready ({len(self.users)})")
        self.people_()
        self.teams_()
        self.clusters_()
        self.log(
            f"{len(self.people)} people, {len(self.teams)} teams, {len(self.clusters)} clusters"
        )
        self.products_()
        self.dependencies()
        self.lifecycles()
        self.history_dates()
        self.log(f"{len(self.products)} products with their dependencies and lifecycles")
        self.backlogs()
        self.log(f"backlogs ready ({BacklogItem.objects.count()} items)")
        self.metrics_()
        self.log(f"metrics ready ({Metric.objects.count()})")
        # Last: a departed owner can no longer be given units, so people leave after.
        self.departures()
        # This year's allocations were set at its start, so last quarter's packets show them;
        # the requests came in this quarter, after those packets were frozen.
        self.allocations()
        # Then the reviews: last quarter held, this quarter scheduled (an owner who left
        # still owned their units last quarter, so departures come first either way).
        reviews_before = Review.objects.count()
        self.reviews_past()
        self.investment_requests()
        self.log(
            f"funding ready ({FundingAllocation.objects.count()} allocations, "
            f"{InvestmentRequest.objects.count()} investment requests)"
        )
        cycle = self.reviews_current()
        self.log(f"review cycles ready ({Review.objects.count()} reviews)")
        # Then the analytics, over everything above (readiness sees the scheduled reviews,
        # candidates the ones held and reactive funding, the strategic signal the requests
        # above the threshold); a build that added reviews or changed funding computes a fresh
        # snapshot.
        self.analytics(again_today=Review.objects.count() != reviews_before or self.funding_changed)
        self.log(f"analytics ready ({Snapshot.objects.done().count()} snapshots)")
        # Last, this quarter's packets: they read the analytics and last quarter's record.
        self.current_packets(cycle)
        self.log(f"packets ready ({Packet.objects.filter(status=PacketStatus.DONE).count()})")
        return self.report


def build(log: Callable[[str], None] | None = None, *, pdfs: bool = True) -> BuildReport:
    """Create or bring up to date the demo portfolio, all in one transaction. `pdfs=False`
    skips printing the first review day's packets (the tests, which do not read them)."""
    with transaction.atomic():
        return _Builder(log or (lambda message: None), pdfs=pdfs).run()
