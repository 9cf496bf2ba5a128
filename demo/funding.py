"""The demo funding for this fiscal year (and last year's for a few units): an allocation for
every unit, and the investment requests their owners asked for, decided as last quarter's
reviews said."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

from django.utils import timezone

from demo.common import BuildState
from demo.metrics import AD, BO, CT, ER, MT, TK
from funding.models import FundingAllocation, FundingMode, InvestmentRequest, RequestStatus
from funding.services import (
    allocation_set,
    request_approve,
    request_create,
    request_reject,
    request_withdraw,
)
from metrics.models import Metric
from portfolio.errors import RuleViolation
from products.models import OwnershipUnit, Product

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


# --- Building ------------------------------------------------------------------------------


def _current_units() -> dict[str, OwnershipUnit]:
    """Current units by the slug the funding lists name them by (cluster's or product's)."""
    units = OwnershipUnit.objects.current().select_related("cluster", "product")
    return {(u.cluster or u.product).slug: u for u in units}


def seed_allocations(state: BuildState) -> None:
    """This year's allocation for every unit in ALLOCATIONS and last year's for a few, set
    by the demo leader. One that differs from the definition is set back to it, unless
    requests approved since leave too little improvement money for that."""
    units = _current_units()
    year = state.today.year
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
            allocation_set(actor=state.actor, unit=unit, fiscal_year=fiscal_year, **fields)
        except RuleViolation:
            continue
        state.report.count("funding allocation", current is None)
        state.funding_changed = True


def seed_investment_requests(state: BuildState) -> None:
    """INVESTMENT_REQUESTS through the services: each owner asks and submits (the rules
    approve what they may), then the demo leader decides or the owner withdraws. Dates are
    moved back afterwards, as the backlog's are. A request already there is left alone,
    whatever happened to it since."""
    year = state.today.year
    now = timezone.now()
    decider = state.users["leader"]
    existing = set(
        InvestmentRequest.objects.filter(fiscal_year=year).values_list("product_id", "purpose")
    )
    for spec in INVESTMENT_REQUESTS:
        product = Product.objects.select_related("unit__owner__user").get(
            pk=state.products[spec.product].pk
        )
        if (product.pk, spec.purpose) in existing:
            continue
        owner = product.unit.owner
        if owner is None or owner.user is None or not owner.is_accountable:
            continue  # nobody accountable to ask
        if owner.user_id == decider.pk:
            raise RuntimeError(f"the demo leader owns {product.unit.name}; pick another unit")
        metric = (
            Metric.objects.filter(product=product, key=spec.metric).first() if spec.metric else None
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
        state.report.count("investment request", True)
        state.funding_changed = True
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
