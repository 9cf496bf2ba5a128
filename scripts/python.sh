#!/bin/sh
# Print the first Python 3.11+ interpreter found ($PYTHON first, then the usual names), or
# explain what is missing and exit 1.
for candidate in ${PYTHON:-} python3.11 python3.12 python3.13 python3.14 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        command -v "$candidate"
        exit 0
    fi
done
echo "Python 3.11 or newer is needed (with the venv module): install python3.11 (or newer)," >&2
echo "or name one with PYTHON=/path/to/python3.x" >&2
exit 1
