#!/usr/bin/env python3
"""Records what a real FreeSWITCH sends an ESL listener when recordings start and stop: RECORD_START /
RECORD_STOP for `uuid_record` (and `record_session`) on a channel, `start-recording` /
`stop-recording` (conference::maintenance) for a conference's recording. The listener subscribes the
way confpayd does: `event plain RECORD_START RECORD_STOP CUSTOM conference::maintenance` with an
`Event-Name CUSTOM` filter and a `Unique-ID` filter for one channel only, so a recording on another
channel must not reach it. Also prints, for the fixtures README, `uuid_buglist` of a recorded channel
while another channel eavesdrops on it, and whether a mask sent the moment RECORD_START arrives is
accepted (the race between the event and the recording being known by its path).

    record_recordings.py [HOST:PORT] [PASSWORD] [OUT_DIR]   (default 127.0.0.1:8021 ClueCon
                                                             tests/fixtures/freeswitch-esl)

Writes `inbound-recording-events.txt`/`.raw` (the listener) in the fixtures' format. No byte changed."""
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record_sendevent import OUT, Conn  # noqa: E402

A = str(uuid.uuid4())  # followed by the listener's Unique-ID filter
B = str(uuid.uuid4())  # not followed
E = str(uuid.uuid4())  # eavesdrops on A
ROOM = "confpay-fixture-rec"


def api(c, cmd):
    _, body = c.command(b"api " + cmd.encode())
    return body.decode(errors="replace")


def main():
    listener = Conn("listener: RECORD_START RECORD_STOP and conference::maintenance, filtered as confpayd does")
    listener.command(b"event plain RECORD_START RECORD_STOP CUSTOM conference::maintenance")
    listener.command(b"filter Event-Name CUSTOM")
    listener.command(b"filter Unique-ID " + A.encode())
    ctl = Conn("control")
    for u in (A, B):
        print(api(ctl, f"originate {{origination_uuid={u}}}loopback/park/default &park()").strip())
    path_a, path_b = f"/tmp/confpay-fixture-{A}.wav", f"/tmp/confpay-fixture-{B}.wav"
    listener.notes.append(f"### uuid_record {A} start {path_a}; uuid_record {B} start {path_b} (B not followed)")
    print("start A:", api(ctl, f"uuid_record {A} start {path_a}").strip())
    print("start B:", api(ctl, f"uuid_record {B} start {path_b}").strip())
    time.sleep(0.5)
    print("buglist A:", api(ctl, f"uuid_buglist {A}"))
    print(api(ctl, f"originate {{origination_uuid={E}}}loopback/park/default &eavesdrop({A})").strip())
    time.sleep(0.5)
    print("buglist A with an eavesdropper:", api(ctl, f"uuid_buglist {A}"))
    print("kill E:", api(ctl, f"uuid_kill {E}").strip())
    listener.notes.append("### uuid_record stop on both, then record_session on A via uuid_broadcast")
    print("stop A:", api(ctl, f"uuid_record {A} stop {path_a}").strip())
    print("stop B:", api(ctl, f"uuid_record {B} stop {path_b}").strip())
    rs = f"/tmp/confpay-fixture-rs-{A}.wav"
    print("record_session:", api(ctl, f"uuid_broadcast {A} record_session::{rs} aleg").strip())
    time.sleep(0.5)
    print("buglist A (record_session):", api(ctl, f"uuid_buglist {A}"))
    print("stop rs:", api(ctl, f"uuid_record {A} stop {rs}").strip())
    listener.notes.append(f"### conference {ROOM}: recording start, then stop all")
    print(api(ctl, f"originate loopback/park/default &conference({ROOM}@default)").strip())
    time.sleep(0.3)
    print("conf start:", api(ctl, f"conference {ROOM} recording start /tmp/{ROOM}.wav").strip())
    time.sleep(0.5)
    print("conf stop:", api(ctl, f"conference {ROOM} recording stop all").strip())
    listener.drain(1.0)
    listener.command(b"exit")
    try:
        listener.drain(1.0)
    except EOFError:
        listener.notes.append("### EOF after exit")
    listener.save("inbound-recording-events")
    # The race, on a listener of its own (not saved): a mask sent the moment RECORD_START is read.
    racer = Conn("racer")
    racer.command(b"event plain RECORD_START")
    refused = 0
    for i in range(20):
        p = f"/tmp/confpay-fixture-race-{i}.wav"
        ctl.command(f"bgapi uuid_record {A} start {p}".encode())
        while True:
            _, body = racer.frame()
            if b"Event-Name: RECORD_START" in body:
                break
        reply = api(ctl, f"uuid_record {A} mask {p}").strip()
        if not reply.startswith("+OK"):
            refused += 1
            print("mask right after RECORD_START:", reply)
        api(ctl, f"uuid_record {A} stop {p}")
    print(f"masks sent on RECORD_START: 20, refused: {refused}")
    api(ctl, "hupall NORMAL_CLEARING")
    print(f"A={A} B={B} E={E}; written to {OUT}")


if __name__ == "__main__":
    main()
