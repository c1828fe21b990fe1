#!/usr/bin/env python3
# Issue 15 check, run by hand on the live suite's switch (see BENCHMARKS.md, "Issue 15"): the body of
# `api X` and the BACKGROUND_JOB body of `bgapi X` must be byte for byte the same, since the daemon
# sends per-call commands as bgapi jobs. Usage: python3 bgapi_vs_api.py (ESL on 127.0.0.1:8021, ClueCon).
import socket, uuid
def rd(s, buf):
    while b"\n\n" not in buf[0]:
        buf[0] += s.recv(65536)
    head, rest = buf[0].split(b"\n\n", 1)
    h = dict(l.split(": ", 1) for l in head.decode().split("\n") if ": " in l)
    n = int(h.get("Content-Length", 0))
    while len(rest) < n:
        rest += s.recv(65536)
    buf[0] = rest[n:]
    return h, rest[:n]
s = socket.create_connection(("127.0.0.1", 8021)); buf=[b""]
rd(s, buf); s.sendall(b"auth ClueCon\n\n"); print(rd(s, buf)[0].get("Reply-Text"))
s.sendall(b"event plain BACKGROUND_JOB\n\n"); rd(s, buf)
cmds = ["uuid_exists 00000000-0000-0000-0000-000000000000", "uuid_getvar 00000000-0000-0000-0000-000000000000 confpay_role",
        "conference confpay-nosuch json_list", "conference confpay-nosuch hold", "uuid_kill 00000000-0000-0000-0000-000000000000 NORMAL_CLEARING",
        "uuid_send_dtmf 00000000-0000-0000-0000-000000000000 1@250", "uuid_setvar 00000000-0000-0000-0000-000000000000 sensitive_dtmf true",
        "global_getvar core_uuid", "nosuchapicommand x", "show channels as json", "uuid_transfer 00000000-0000-0000-0000-000000000000 park inline"]
ok = True
for c in cmds:
    s.sendall(("api %s\n\n" % c).encode()); h, api_body = rd(s, buf)
    job = str(uuid.uuid4())
    s.sendall(("bgapi %s\nJob-UUID: %s\n\n" % (c, job)).encode())
    h, _ = rd(s, buf)
    while True:
        h, body = rd(s, buf)
        if h.get("Content-Type") == "text/event-plain" and job.encode() in body:
            break
    eh, eb = body.split(b"\n\n", 1)
    same = api_body == eb
    ok &= same
    print("%-5s %-80s api=%r job=%r" % ("SAME" if same else "DIFF", c, api_body, eb))
print("ALL SAME" if ok else "DIFFERENCES")
