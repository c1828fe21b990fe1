#!/usr/bin/env bash
# Validate the deployment files: FreeSWITCH drop-in XML and the systemd unit.
#
#   bash .ci/check-deploy.sh          (from anywhere; paths are relative to the repository root)
#
# 1. xmllint --noout on every XML file under freeswitch-dialplan/ (well-formedness).
# 2. frslint analyze on the dialplan: frslint (PyPI) is a static analyzer for FreeSWITCH XML. It takes
#    a root freeswitch.xml, follows X-PRE-PROCESS includes and checks the <section name="dialplan">:
#    conditions (field/expression pairs, regex validity, break values), actions (known applications,
#    unreachable actions after hangup/transfer, unclosed ${...}) and $${globals} that are never set.
#    Our files are drop-ins, so a throw-away tree is built that includes them the way vanilla
#    FreeSWITCH does (freeswitch.xml -> dialplan/*.xml, dialplan/default.xml -> default/*.xml).
#    It exits 1 on any error-severity finding; warnings are printed and fail this script too.
# 3. systemd-analyze verify systemd/confpay.service. verify insists that ExecStart's binary exists and
#    is executable; /usr/local/bin/confpayd does not exist on a CI machine (and must not be faked in the
#    real /usr/local/bin). So a copy of the unit with the ExecStart path swapped for /bin/true is
#    verified; every other line is checked as written. `systemd-analyze security --offline` prints the
#    exposure score of the same copy (informational).
#
# Installs what it needs on a fresh Debian machine: libxml2-utils (xmllint) and systemd
# (systemd-analyze) via apt only when missing, frslint via pip.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fs_dir="freeswitch-dialplan"
unit="systemd/confpay.service"

log() { printf 'check-deploy: %s\n' "$*"; }

frslint_version="0.1.0"
need_apt=()
command -v xmllint >/dev/null 2>&1 || need_apt+=(libxml2-utils)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
if ((${#need_apt[@]})); then
    log "installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# frslint is run as `python3 -m frslint` (its entry module), so no PATH/shim question arises.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
installed="$(python3 -m pip show frslint 2>/dev/null || true)"
if ! grep -qx "Version: $frslint_version" <<<"$installed"; then
    log "installing frslint $frslint_version"
    # Debian's own python3 refuses plain pip installs (PEP 668); a pyenv/venv python accepts them.
    python3 -m pip install --quiet "frslint==$frslint_version" ||
        python3 -m pip install --quiet --break-system-packages "frslint==$frslint_version"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. well-formed XML
mapfile -t xml_files < <(find "$fs_dir" -name '*.xml' -type f | sort)
if ((${#xml_files[@]} == 0)); then
    log "no XML files under $fs_dir"
    exit 1
fi
xmllint --noout "${xml_files[@]}"
log "xmllint: ${#xml_files[@]} files well-formed"

# 2. frslint analyze on a tree shaped like conf/
mkdir -p "$work/conf/dialplan/default"
cp "$fs_dir"/dialplan/*.xml "$work/conf/dialplan/"
cp "$fs_dir"/dialplan/default/*.xml "$work/conf/dialplan/default/"
cat >"$work/conf/dialplan/default.xml" <<'EOF'
<include>
  <context name="default">
    <X-PRE-PROCESS cmd="include" data="default/*.xml"/>
  </context>
</include>
EOF
cat >"$work/conf/freeswitch.xml" <<'EOF'
<document type="freeswitch/xml">
  <section name="dialplan" description="Regex/XML Dialplan">
    <X-PRE-PROCESS cmd="include" data="dialplan/*.xml"/>
  </section>
</document>
EOF
python3 -m frslint analyze "$work/conf/freeswitch.xml" -f json >"$work/frslint.json" || true
python3 - "$work/frslint.json" <<'EOF'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
try:
    report = json.loads(raw)
except json.JSONDecodeError:
    print(raw)
    sys.exit("check-deploy: frslint produced no JSON report")
issues = report.get("issues", report) if isinstance(report, dict) else report
for issue in issues:
    print("frslint:", json.dumps(issue, sort_keys=True))
if issues:
    sys.exit(f"check-deploy: frslint reported {len(issues)} finding(s)")
print("check-deploy: frslint analyze: no findings")
EOF
# a tree that frslint could not expand must not pass silently: the extensions must be there
python3 -m frslint debug "$work/conf/freeswitch.xml" 8500 -c default >"$work/debug.txt" 2>&1 || true
if ! grep -qF 'socket: 127.0.0.1:8084 async full' "$work/debug.txt"; then
    cat "$work/debug.txt"
    log "frslint debug did not reach the socket action for 8500 in context default"
    exit 1
fi
log "frslint debug: 8500 in context default reaches the socket action"

# 3. systemd unit
sed 's|^ExecStart=/usr/local/bin/confpayd |ExecStart=/bin/true |' "$unit" >"$work/confpay.service"
if ! grep -q '^ExecStart=/bin/true --config /etc/confpay/confpay.toml$' "$work/confpay.service"; then
    log "ExecStart in $unit is not the expected /usr/local/bin/confpayd --config /etc/confpay/confpay.toml"
    exit 1
fi
# verify exits 0 on many problems (unknown keys, unparsable values) and only prints them, so any line
# it prints about our unit fails the check; lines about other units on this machine are shown only.
if ! verify_out="$(systemd-analyze verify "$work/confpay.service" 2>&1)"; then
    printf '%s\n' "$verify_out"
    log "systemd-analyze verify failed for $unit"
    exit 1
fi
if [[ -n "$verify_out" ]]; then
    printf '%s\n' "$verify_out"
    if grep -q 'confpay\.service' <<<"$verify_out"; then
        log "systemd-analyze verify reported problems in $unit"
        exit 1
    fi
fi
log "systemd-analyze verify: $unit ok (ExecStart binary swapped for /bin/true)"
if systemd-analyze security --offline=yes "$work/confpay.service" >"$work/security.txt" 2>&1; then
    log "systemd-analyze security: $(grep 'Overall exposure level' "$work/security.txt" || echo 'no score')"
else
    log "systemd-analyze security --offline not available here (informational only)"
fi

log "all deployment checks passed"
