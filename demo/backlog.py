"""The demo backlogs: work of every kind and state, two crowded clusters and stale items."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

from django.utils import timezone

from backlog.models import BacklogItem
from backlog.services import backlog_item_create
from demo.common import BuildState
from products.models import Product

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


# --- Building ------------------------------------------------------------------------------


def seed_backlogs(state: BuildState) -> None:
    now = timezone.now()
    existing = set(BacklogItem.objects.values_list("unit_id", "title"))
    for spec in BACKLOGS:
        product = Product.objects.get(pk=state.products[spec.product].pk)
        if (product.unit_id, spec.title) in existing:
            continue
        item = backlog_item_create(
            actor=state.actor,
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
        state.report.count("backlog item", True)

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
