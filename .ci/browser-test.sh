#!/usr/bin/env bash
# Browser test of the agent page on the real stack: headless Debian Chromium driven by
# playwright-core (npm; it downloads no browser) against `confpayd demo --serve` (the simulator as
# FreeSWITCH, and the daemon's real parts — ESL client, engine, outbound socket server, HTTP API —
# connected to it over loopback TCP). Works on a fresh Debian machine as root: installs chromium and
# nodejs/npm with apt when missing. Walks the page through each state an agent sees and saves a
# screenshot per state in docs/agent-page/ (committed; README shows them). AGENT_PAGE_SHOTS=<dir>
# puts them elsewhere.
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

echo "== cargo build --locked --bin confpayd"
cargo build --locked --bin confpayd

echo "== npm ci (tests/browser)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

echo "== node --test (tests/browser)"
cd tests/browser
node --test agent-page.test.mjs
echo "screenshots: ${AGENT_PAGE_SHOTS:-docs/agent-page}/*.png"
