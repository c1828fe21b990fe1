#!/usr/bin/env bash
# Browser test of the agent page: headless Debian Chromium driven by playwright-core (npm; it
# downloads no browser) against examples/browser_harness (the daemon's engine + HTTP API on the
# simulator). Works on a fresh Debian machine as root: installs chromium and nodejs/npm with apt
# when missing. Screenshots land in target/browser/.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=0
need() {
    local pkgs=("$@")
    if [ "$apt_updated" = 0 ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
    echo "== apt-get install chromium"
    need chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "== apt-get install nodejs npm"
    need nodejs npm
fi

echo "== cargo build --example browser_harness"
cargo build --locked --example browser_harness

echo "== npm ci (tests/browser)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

echo "== node --test (tests/browser)"
mkdir -p target/browser
cd tests/browser
node --test agent-page.test.mjs
