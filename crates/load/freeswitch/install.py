#!/usr/bin/env python3
"""Builds the load tool's FreeSWITCH conf tree (real-switch mode): the live suite's tree
(tests/confpay/live/freeswitch/install.py: the shipped dialplan, conference profile, capture gateway,
PCI fragments, the capture stand-in), plus the load parties and raised session limits.

    install.py BASE_CONF OUT_DIR [--password PW] [--max-sessions N] [--sessions-per-second N]

BASE_CONF and OUT_DIR as for the live suite's install.py (OUT_DIR must not exist).

What changes on top of the live tree, and why:
  - switch.conf.xml max-sessions (default here 10000; the shared test switch ships 1000) and
    sessions-per-second (here 1000; shipped 30). One load payment holds six sessions: the customer's
    loopback pair, the agent's SIP call (two legs on this one switch) and the capture call (two legs);
    a step of N payments places 4 N sessions and then 2 N more within seconds. With 30 per second the
    switch refuses originates (CALL_REJECTED / "Throttle Error") long before it is busy.
  - dialplan/default/91_confpay_load.xml: load_phone and load_agent (load_extensions.xml), phones that
    do not run an inband DTMF detector.
  - sip_profiles/external.xml outbound-use-uuid-as-callid: a call through the capture gateway then has
    the dialling leg's UUID as SIP Call-ID, so the capture stand-in's report (Live-Call-ID=${sip_call_id})
    names the capture leg confpayd dialled, and the tool checks the agent ID against that leg's call.
The conference needs no change: the confpay profile's max-members 4 is per room, and a payment room
holds three; mod_loopback and mod_sofia have no session cap of their own besides the core's."""
import argparse
import importlib.util
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
LIVE = os.path.join(REPO, "tests", "confpay", "live", "freeswitch", "install.py")


def live_installer():
    spec = importlib.util.spec_from_file_location("live_install", LIVE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_param(text, name, value, where="switch.conf.xml"):
    """Sets <param name="NAME" value="..."/> in a <settings> block, adding it if missing."""
    pattern = r'<param name="%s" value="[^"]*"/>' % re.escape(name)
    line = '<param name="%s" value="%s"/>' % (name, value)
    if re.search(pattern, text):
        return re.sub(pattern, line, text, count=1)
    new, n = re.subn(r"</settings>", "  " + line + "\n  </settings>", text, count=1)
    if n != 1:
        sys.exit("install.py: no <settings> in %s" % where)
    return new


def overlay(out, max_sessions, per_second):
    path = os.path.join(out, "autoload_configs", "switch.conf.xml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = set_param(text, "max-sessions", max_sessions)
    text = set_param(text, "sessions-per-second", per_second)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    external = os.path.join(out, "sip_profiles", "external.xml")
    with open(external, encoding="utf-8") as f:
        text = f.read()
    with open(external, "w", encoding="utf-8") as f:
        f.write(set_param(text, "outbound-use-uuid-as-callid", "true", "external.xml"))
    shutil.copy(os.path.join(HERE, "load_extensions.xml"),
                os.path.join(out, "dialplan", "default", "91_confpay_load.xml"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base")
    p.add_argument("out")
    p.add_argument("--password", default=os.environ.get("CONFPAY_LIVE_PASSWORD", "ClueCon"))
    p.add_argument("--max-sessions", type=int, default=10000)
    p.add_argument("--sessions-per-second", type=int, default=1000)
    a = p.parse_args()
    if os.path.exists(a.out):
        sys.exit("install.py: %s exists" % a.out)
    live_installer().install(a.base, a.out, a.password)
    overlay(a.out, a.max_sessions, a.sessions_per_second)
    print("install.py: load conf tree in %s (max-sessions %d, sessions-per-second %d)"
          % (a.out, a.max_sessions, a.sessions_per_second))


if __name__ == "__main__":
    main()
