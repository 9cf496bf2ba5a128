#!/usr/bin/env bash
# Fetch the pinned front-end libraries from the npm registry and copy the built files into the
# repository: static/vendor/ for what the pages load (nothing comes from a CDN at run time) and
# tests/browser/vendor/ for what only the browser tests inject (axe-core). Every file's sha256
# is checked against the one noted below, so a changed tarball stops the script. Safe to run
# again: it overwrites the same files with the same pinned versions.
#
# To update a library: change its version, run the script once with CHECK=0 to print the new
# sha256 values, paste them here, run it again and commit the files with this script.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CHECK="${CHECK:-1}"

# package@version  file inside the tarball  destination in the repository  sha256 of the file
LIBS=(
  "htmx.org@2.0.11 package/dist/htmx.min.js static/vendor/htmx.min.js d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
  "@picocss/pico@2.1.1 package/css/pico.min.css static/vendor/pico.min.css fbc9a63fc9fc9f72d12fd7fc9806e11fa9f77ae4f9cad146b27003a1119ba3db"
  "sortablejs@1.15.7 package/Sortable.min.js static/vendor/Sortable.min.js bf4241bc73fef7f11c59a283a69fe8051cdd31c6d8ff5a2b9ba219e7831fcf76"
  "axe-core@4.10.3 package/axe.min.js tests/browser/vendor/axe.min.js 880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb"
)

for entry in "${LIBS[@]}"; do
  read -r spec inner target sha <<<"$entry"
  tarball="$(cd "$WORK" && npm pack --silent "$spec")"
  tar -xzf "$WORK/$tarball" -C "$WORK" "$inner"
  got="$(sha256sum "$WORK/$inner" | cut -d' ' -f1)"
  if [ "$CHECK" = "1" ] && [ "$got" != "$sha" ]; then
    echo "$spec: $inner has sha256 $got, expected $sha; nothing copied" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$ROOT/$target")"
  cp "$WORK/$inner" "$ROOT/$target"
  rm -rf "$WORK/package" "$WORK/$tarball"
  echo "fetched $spec -> $target ($(wc -c <"$ROOT/$target") bytes, sha256 $got)"
done
