#!/usr/bin/env python3
"""Records what a real FreeSWITCH sends ESL listeners for odd events another client injects with
`sendevent`: bodies with blank lines, colons and a nested Content-Length, header names with spaces and
other odd characters, values and bodies with invalid UTF-8, `%XX` already in a value, empty values,
repeated headers. One listener per event format (plain, json, xml), subscribed to the subclass only.

    record_sendevent.py [HOST:PORT] [PASSWORD] [OUT_DIR]    (default 127.0.0.1:8021 ClueCon
                                                             tests/fixtures/freeswitch-esl)

Writes, in the fixtures' format (tests/fixtures/freeswitch-esl/README.md), for each listener
`inbound-sendevent-odd-<format>.txt` (transcript) and `.raw` (the server->client bytes), and the
sender's own connection as `inbound-sendevent-odd-sender.txt`/`.raw`. No byte is changed."""
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADDR = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8021"
PASSWORD = sys.argv[2] if len(sys.argv) > 2 else "ClueCon"
OUT = Path(sys.argv[3]) if len(sys.argv) > 3 else HERE.parent.parent / "fixtures" / "freeswitch-esl"
SUBCLASS = b"confpay::odd"

# What the sender injects: (headers, body). Bytes, so invalid UTF-8 goes out as it is.
BODY_BLANKS = b"first line\n\nafter a blank line: with a colon\nContent-Length: 999\n\nlast: line\n"
EVENTS = [
    ([(b"Odd-Case", b"body with blank lines, colons and a nested Content-Length")], BODY_BLANKS),
    ([(b"Odd-Case", b"header names with spaces and odd characters"),
      (b"Name With Spaces", b"spaced"),
      (b"Name.With_Dots-And:Colon", b"dotted"),
      (b"Name/Slash+Plus", b"slashed"),
      (b"Percent%Name", b"percent")], None),
    ([(b"Odd-Case", b"invalid UTF-8 in a value and in the body"),
      (b"Bad-Value", b"ok \xff\xfe bytes \xc3"),
      (b"Latin1-Value", b"caf\xe9")], b"body \xff\x00\x80 end\n"),
    ([(b"Odd-Case", b"values needing escapes"),
      (b"Already-Encoded", b"a %41 value %zz"),
      (b"Spaces-And-Symbols", b" lead & trail: <x> \"q\" 'a' {j} [k] |p| "),
      (b"Unicode-Value", "grüße ☎".encode())], None),
    ([(b"Odd-Case", b"empty and repeated headers"),
      (b"Empty-Value", b""),
      (b"Twice", b"first"),
      (b"Twice", b"second")], None),
    ([(b"Odd-Case", b"a body of only newlines")], b"\n\n\n"),
]


class Conn:
    """One ESL connection; records every chunk in the fixtures' transcript format."""

    def __init__(self, what):
        host, port = ADDR.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.t0 = time.monotonic()
        self.buf = b""
        self.raw = b""
        self.chunks = []
        self.notes = [f"### {what}"]
        self.frame()  # auth/request
        self.command(b"auth " + PASSWORD.encode())

    def send(self, data):
        self.sock.sendall(data)
        self.chunks.append((">>> client->server", data, time.monotonic() - self.t0))

    def frame(self, timeout=5.0):
        self.sock.settimeout(timeout)
        while b"\n\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        head, rest = self.buf.split(b"\n\n", 1)
        length = 0
        for line in head.split(b"\n"):
            if line.lower().startswith(b"content-length: "):
                length = int(line.split(b": ", 1)[1])
        while len(rest) < length:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            rest += d
        whole = head + b"\n\n" + rest[:length]
        self.buf = rest[length:]
        self.raw += whole
        self.chunks.append(("<<< server->client", whole, time.monotonic() - self.t0))
        return head, rest[:length]

    def command(self, line, extra=b""):
        self.send(line + b"\n" + extra + b"\n")
        while True:
            head, body = self.frame()
            if b"command/reply" in head or b"api/response" in head:
                return head, body

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.frame(timeout=max(0.05, end - time.monotonic()))
            except (socket.timeout, TimeoutError):
                break

    def save(self, name):
        txt = b"\n".join(n.encode() for n in self.notes) + b"\n"
        for marker, data, t in self.chunks:
            txt += f"{marker} len={len(data)} t=+{t:.3f}\n".encode() + data + b"\n"
        (OUT / f"{name}.txt").write_bytes(txt)
        (OUT / f"{name}.raw").write_bytes(self.raw)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    listeners = {}
    for fmt in ("plain", "json", "xml"):
        c = Conn(f"listener: event {fmt} CUSTOM {SUBCLASS.decode()}; then the sender's events arrive")
        c.command(b"event " + fmt.encode() + b" CUSTOM " + SUBCLASS)
        listeners[fmt] = c
    sender = Conn("sender: sendevent CUSTOM with odd headers and bodies (see record_sendevent.py)")
    for headers, body in EVENTS:
        msg = b"Event-Subclass: " + SUBCLASS + b"\n"
        for name, value in headers:
            msg += name + b": " + value + b"\n"
        if body is not None:
            msg += b"Content-Type: text/plain\nContent-Length: " + str(len(body)).encode() + b"\n\n" + body
            sender.send(b"sendevent CUSTOM\n" + msg)
            while True:
                head, _ = sender.frame()
                if b"command/reply" in head:
                    break
        else:
            sender.command(b"sendevent CUSTOM", msg)
    for c in listeners.values():
        c.drain(1.5)
    for name, c in [("sender", sender)] + list(listeners.items()):
        c.command(b"exit")
        try:
            c.drain(1.0)  # the disconnect notice, then the close
        except EOFError:
            c.notes.append("### EOF after exit")
        c.save(f"inbound-sendevent-odd-{name}")
    print(f"recorded {len(EVENTS)} events in {', '.join(listeners)} into {OUT}")


if __name__ == "__main__":
    main()
