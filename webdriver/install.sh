#!/usr/bin/env bash
# Provides the browser panelwright drives: Debian's Chromium and its chromedriver.
# Idempotent: does nothing when both are already installed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

if [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]]; then
    echo "chromium and chromedriver already installed"
else
    SUDO=""
    if [[ "$(id -u)" -ne 0 ]]; then
        SUDO="sudo"
    fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium chromium-driver
fi

# The wrapper script of Debian's chromium may print noise on stderr; keep the version line.
"$CHROMIUM" --version 2>/dev/null || true
"$CHROMEDRIVER" --version
