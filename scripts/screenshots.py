"""Take the screenshots in docs/screenshots/ from a running demo (make demo).

    .venv/bin/python scripts/screenshots.py [--base URL] [--browser PATH] [--map-product SLUG]

Each shot is a page as one role sees it, at desktop width (1,400 px) and phone width
(390 px). The demo's logins share DEMO_PASSWORD. Run it again after a page changes; it
overwrites the files.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}
MAX_HEIGHT = 2000


@dataclass
class Shot:
    name: str
    login: str
    path: str  # a path, or "product:" for the page of --map-product
    selector: str | None = None  # only this part of the page


SHOTS = [
    Shot("my-work", "owner", "/my-work/"),
    Shot("dependency-map", "leader", "product:", "#dependency-map"),
    Shot("landscape", "leader", "/landscape/"),
    Shot("dashboard", "leader", "/dashboard/"),
]


def sign_in(page: Page, base: str, login: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "demo-pass-2026"))
    # a demo product with dependencies and dependants on both levels
    parser.add_argument("--map-product", default="erp-general-ledger")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.browser, args=FLAGS)
        for shot in SHOTS:
            for label, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                sign_in(page, args.base, shot.login, args.password)
                path = f"/products/{args.map_product}/" if shot.path == "product:" else shot.path
                page.goto(args.base + path)
                page.wait_for_load_state("networkidle")
                target = OUT / f"{shot.name}-{label}.png"
                if shot.selector:
                    page.locator(shot.selector).screenshot(path=str(target))
                else:
                    # the whole page, cut at MAX_HEIGHT (a phone's long lists run on)
                    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
                    clip = {"x": 0, "y": 0, "width": width, "height": height}
                    page.screenshot(path=str(target), full_page=True, clip=clip)
                print(f"{target.relative_to(OUT.parent.parent)} ({shot.login}, {path})")
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
