#!/usr/bin/env bash
# Provides the browser panelwright drives: Debian's Chromium and its chromedriver;
# and python3 (Debian's, with its own SQLite), which the tests use as an RMM
# would, to check the store's documented SQL against a SQLite not bundled in
# panelwright; and tesseract-ocr, with which the tests read screenshots back
# to prove no secret is visible in them; and openapi-spec-validator, with
# which they validate the API's OpenAPI document. Idempotent: does nothing when all are already installed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

if [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]] && command -v python3 >/dev/null \
    && command -v tesseract >/dev/null; then
    echo "chromium, chromedriver, python3 and tesseract-ocr already installed"
else
    SUDO=""
    if [[ "$(id -u)" -ne 0 ]]; then
        SUDO="sudo"
    fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium chromium-driver python3 tesseract-ocr
fi

# openapi-spec-validator (PyPI): the tests validate the API's OpenAPI document with it.
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        SUDO=""
        if [[ "$(id -u)" -ne 0 ]]; then
            SUDO="sudo"
        fi
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-pip
    fi
    python3 -m pip install --quiet openapi-spec-validator 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages openapi-spec-validator
fi

# The wrapper script of Debian's chromium may print noise on stderr; keep the version line.
"$CHROMIUM" --version 2>/dev/null || true
"$CHROMEDRIVER" --version
