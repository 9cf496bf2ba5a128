#!/usr/bin/env bash
# Fetch the pinned front-end libraries from the npm registry and copy the built files into
# static/vendor/. Nothing is loaded from a CDN at run time. Safe to run again: it overwrites
# the same files with the same pinned versions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# package@version  file inside the tarball  file under static/vendor/
LIBS=(
  "htmx.org@2.0.11 package/dist/htmx.min.js htmx.min.js"
  "@picocss/pico@2.1.1 package/css/pico.min.css pico.min.css"
  "sortablejs@1.15.7 package/Sortable.min.js Sortable.min.js"
)

mkdir -p "$DEST"
for entry in "${LIBS[@]}"; do
  read -r spec inner target <<<"$entry"
  tarball="$(cd "$WORK" && npm pack --silent "$spec")"
  tar -xzf "$WORK/$tarball" -C "$WORK" "$inner"
  cp "$WORK/$inner" "$DEST/$target"
  rm -rf "$WORK/package" "$WORK/$tarball"
  echo "fetched $spec -> static/vendor/$target ($(wc -c <"$DEST/$target") bytes)"
done
