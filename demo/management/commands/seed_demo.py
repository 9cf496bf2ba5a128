"""Build (or bring up to date) the demo portfolio; safe to run any number of times."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from demo.builder import build
from demo.catalogue import demo_password
from demo.catalogue_people import ADMIN_USERNAME, CLUSTERS, PEOPLE, ROLE_LOGINS, TEAMS
from demo.catalogue_products import PRODUCTS


class Command(BaseCommand):
    help = (
        "Create the demo portfolio (people, logins, teams, clusters, products, lifecycles) "
        "through the services. Re-running reuses what exists and creates nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-logins", action="store_true", help="Do not print the demo logins at the end."
        )
        parser.add_argument(
            "--no-pdfs",
            action="store_true",
            help="Do not print the first review day's packets to PDF (about a second each).",
        )

    def handle(self, *args, no_logins: bool = False, no_pdfs: bool = False, **options):
        started = time.monotonic()
        verbose = options["verbosity"] > 1
        report = build(
            log=(lambda m: self.stdout.write(f"  {m}")) if verbose else None, pdfs=not no_pdfs
        )
        elapsed = time.monotonic() - started
        created = ", ".join(f"{kind}: {n}" for kind, n in sorted(report.created.items()))
        updated = ", ".join(f"{kind}: {n}" for kind, n in sorted(report.updated.items()))
        self.stdout.write(
            f"Demo portfolio ready in {elapsed:.1f} s: "
            f"{len(PRODUCTS)} products, {len(CLUSTERS)} clusters, "
            f"{len(PEOPLE)} people, {len(TEAMS)} teams."
        )
        self.stdout.write(f"  created: {created or 'nothing (all there already)'}")
        if updated:
            self.stdout.write(f"  brought back to the demo definition: {updated}")
        if not no_logins:
            self.print_logins()

    def print_logins(self) -> None:
        password = demo_password()
        self.stdout.write("")
        self.stdout.write("Demo logins (demo data only), password for all: " + password)
        for role, username in ROLE_LOGINS:
            self.stdout.write(f"  {role:<18} {username}")
        self.stdout.write(f"  {'superuser':<18} {ADMIN_USERNAME}   (Django admin at /admin/)")
        shown = {username for _, username in ROLE_LOGINS}
        others = [
            p.username
            for p in PEOPLE
            if p.login and p.username not in shown and not p.login_disabled
        ]
        self.stdout.write(f"  more logins, same password: {', '.join(others)}")
