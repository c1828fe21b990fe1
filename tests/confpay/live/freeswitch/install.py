#!/usr/bin/env python3
"""Builds the live suite's FreeSWITCH conf tree: a base conf tree, plus the project's
freeswitch-dialplan/ files installed the way freeswitch-dialplan/README.md tells an operator to, plus
the suite's own test extensions (parties and a capture-service stand-in).

    install.py BASE_CONF OUT_DIR [--password PW]

BASE_CONF is any FreeSWITCH conf tree with the vanilla layout (freeswitch.xml, vars.xml,
autoload_configs/, dialplan/default/, sip_profiles/): the one the live lane is given in CI, or a copy of
/etc/freeswitch. OUT_DIR is created (it must not exist). The ESL password defaults to ClueCon.

What an operator would do, step by step (freeswitch-dialplan/README.md, "What to change"):
  - dialplan files copied into dialplan/default/ and dialplan/;
  - the `confpay` conference profile pasted inside <profiles> of conference.conf.xml;
  - event_socket.conf.xml replaced, its password placeholder replaced;
  - the capture gateway copied into sip_profiles/external/, pointed at the capture service (here the
    suite's stand-in, reached over SIP on this same switch);
  - the PCI fragments merged: hard log ceiling, console and logfile mappings, digits_dialed_filter.
Then the suite's own files: tests/confpay/live/freeswitch/*.xml."""
import argparse
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
SHIPPED = os.path.join(REPO, "freeswitch-dialplan")
# Where the capture gateway points in the test tree: the switch's own `internal` profile, where the
# stand-in extensions answer.
CAPTURE_HOST = "127.0.0.1:5060"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def inner(fragment, tag):
    """The first <tag ...>...</tag> element of a shipped file, as text."""
    fragment = re.sub(r"<!--.*?-->", "", fragment, flags=re.S)
    m = re.search(r"<%s[ >].*?</%s>" % (tag, tag), fragment, re.S)
    if not m:
        sys.exit("install.py: no <%s> in fragment" % tag)
    return m.group(0)


def replace_once(text, pattern, repl, what):
    new, n = re.subn(pattern, repl, text, count=1, flags=re.S)
    if n != 1:
        sys.exit("install.py: could not %s" % what)
    return new


def install(base, out, password):
    shutil.copytree(base, out)
    conf = lambda *p: os.path.join(out, *p)
    shipped = lambda *p: os.path.join(SHIPPED, *p)

    # dialplan
    for name in sorted(os.listdir(shipped("dialplan", "default"))):
        shutil.copy(shipped("dialplan", "default", name), conf("dialplan", "default", name))
    shutil.copy(shipped("dialplan", "confpay_features.xml"), conf("dialplan", "confpay_features.xml"))

    # conference profile, inside <profiles>
    path = conf("autoload_configs", "conference.conf.xml")
    profile = inner(read(shipped("conference", "confpay_profile.xml")), "profile")
    write(path, replace_once(read(path), r"</profiles>", profile + "\n  </profiles>", "paste the profile"))

    # event socket: replaced, password set
    es = read(shipped("autoload_configs", "event_socket.conf.xml"))
    es = replace_once(es, r"CHANGE_ME_ESL_PASSWORD", password, "set the ESL password")
    write(conf("autoload_configs", "event_socket.conf.xml"), es)

    # capture gateway, pointed at the stand-in
    gw = read(shipped("sip_profiles", "external", "paytia.xml"))
    gw = gw.replace("capture.example.net", CAPTURE_HOST)
    write(conf("sip_profiles", "external", "paytia.xml"), gw)

    # PCI fragments
    path = conf("autoload_configs", "switch.conf.xml")
    write(path, replace_once(read(path), r'<param name="loglevel" value="[^"]*"/>',
                             '<param name="loglevel" value="notice"/>', "set the hard log ceiling"))
    path = conf("autoload_configs", "console.conf.xml")
    text = replace_once(read(path), r'<map name="all" value="[^"]*"/>',
                        '<map name="all" value="console,notice,warning,err,crit,alert"/>', "map the console")
    write(path, replace_once(text, r'<param name="loglevel" value="[^"]*"/>',
                             '<param name="loglevel" value="notice"/>', "set the console level"))
    path = conf("autoload_configs", "logfile.conf.xml")
    write(path, replace_once(read(path), r'<map name="all" value="[^"]*"/>',
                             '<map name="all" value="notice,warning,err,crit,alert"/>', "map the logfile"))
    path = conf("vars.xml")
    line = inner(read(shipped("pci", "vars.fragment.xml")), "include")
    line = re.search(r"<X-PRE-PROCESS [^>]*/>", line).group(0)
    write(path, replace_once(read(path), r"</include>\s*$", "  " + line + "\n</include>\n", "add digits_dialed_filter"))

    # the suite's own parts
    shutil.copy(os.path.join(HERE, "external.xml"), conf("sip_profiles", "external.xml"))
    shutil.copy(os.path.join(HERE, "live_extensions.xml"), conf("dialplan", "default", "90_confpay_live.xml"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base")
    p.add_argument("out")
    p.add_argument("--password", default=os.environ.get("CONFPAY_LIVE_PASSWORD", "ClueCon"))
    a = p.parse_args()
    if os.path.exists(a.out):
        sys.exit("install.py: %s exists" % a.out)
    install(a.base, a.out, a.password)
    print("install.py: conf tree in %s" % a.out)


if __name__ == "__main__":
    main()
