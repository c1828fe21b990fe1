#!/usr/bin/env bash
# The live lane: the live suite (tests/confpay/live, module `live` of the root test binary) against a real FreeSWITCH.
#
#   bash .ci/live-lane.sh [FREESWITCH_DIR]      (default: ../shared/freeswitch beside the repository)
#
# FREESWITCH_DIR must hold start.sh, stop.sh and conf/ (see its README). Without start.sh the lane
# prints one line saying it was skipped and exits 0. With it: builds the suite's conf tree from
# FREESWITCH_DIR/conf (tests/confpay/live/freeswitch/install.py: the shipped freeswitch-dialplan/ files
# installed the way an operator would, plus the suite's parties), starts the switch with it, runs
# the suite, stops the switch. This is the only part of CI that reads outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

fs="${1:-../shared/freeswitch}"
if [ ! -f "$fs/start.sh" ]; then
    echo "live lane skipped: no real FreeSWITCH ($fs/start.sh not found)"
    exit 0
fi
fs="$(cd "$fs" && pwd)"

work="$(mktemp -d)"
conf="$work/conf"
cleanup() {
    bash "$fs/stop.sh" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

python3 tests/confpay/live/freeswitch/install.py "$fs/conf" "$conf"
# Build first: the switch should not sit waiting for the compiler.
cargo test --locked --test confpay --no-run
bash "$fs/start.sh" "$conf"

export CONFPAY_LIVE_ESL=127.0.0.1:8021
export CONFPAY_LIVE_PASSWORD=ClueCon
export CONFPAY_LIVE_RESTART="bash '$fs/start.sh' '$conf'"
cargo test --locked --test confpay live:: -- --ignored --test-threads=1
