#!/bin/sh
# Create .venv (Python 3.11+) if it is missing, then install the locked dev set into it.
# The Makefile runs this only when requirements/dev.txt is newer than the last install.
set -eu
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    python=$(sh scripts/python.sh)
    echo "Creating $VENV with $python ($("$python" --version 2>&1))"
    "$python" -m venv "$VENV"
fi
echo "Installing requirements/dev.txt into $VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements/dev.txt
