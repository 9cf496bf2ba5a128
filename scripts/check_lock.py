#!/usr/bin/env python3
"""Fail when pyproject.toml asks for a package the lock files do not pin (or pin outside range).

A fresh clone installs only requirements/*.txt, so a dependency added to pyproject.toml
without `make lock` would surface later as an ImportError; this says so up front.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pinned(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name.split("[")[0])] = version.strip()
    return pins


def problems(requirements: list[str], lock: Path) -> list[str]:
    pins = pinned(lock)
    found = []
    for spec in requirements:
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            found.append(f"{lock.relative_to(ROOT)}: {req.name} is not pinned")
        elif not req.specifier.contains(version, prereleases=True):
            found.append(f"{lock.relative_to(ROOT)}: {req.name}=={version} is outside '{spec}'")
    return found


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = project.get("dependencies", [])
    dev = project.get("optional-dependencies", {}).get("dev", [])
    found = problems(runtime, ROOT / "requirements/base.txt")
    found += problems(runtime + dev, ROOT / "requirements/dev.txt")
    if found:
        print("The lock files are out of date with pyproject.toml:", file=sys.stderr)
        for line in found:
            print(f"  - {line}", file=sys.stderr)
        print("Run `make lock` and commit requirements/.", file=sys.stderr)
        return 1
    print("requirements/*.txt cover pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
