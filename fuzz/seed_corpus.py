#!/usr/bin/env python3
"""Seeds the libFuzzer corpora from the FreeSWITCH recordings, at run time (nothing large is copied
into the repository): `fuzz/corpus/<target>/` gets, per `.raw` recording in
`tests/fixtures/freeswitch-esl/` (or the directory given as the first argument):

- codec_stream, decode_run: every frame on its own, and runs of up to 4 consecutive frames (<= 64 KiB);
- event_text: the text (body) of every event frame.

Frames are split by their `Content-Length`, as FreeSWITCH frames them."""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "fixtures", "freeswitch-esl")
MAX_SEED = 64 * 1024


def frames(data):
    """(content_type, whole frame bytes, body bytes) for each frame of a valid stream."""
    pos = 0
    while pos < len(data):
        end = data.find(b"\n\n", pos)
        if end < 0:
            return
        head = data[pos:end + 1]
        length, ctype = 0, b""
        for line in head.split(b"\n"):
            name, _, value = line.partition(b": ")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"content-type":
                ctype = value
        body_start = end + 2
        yield ctype, data[pos:body_start + length], data[body_start:body_start + length]
        pos = body_start + length


def put(target, blob):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(blob).hexdigest()), "wb") as f:
        f.write(blob)


def main():
    names = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".raw"))
    if not names:
        sys.exit(f"no .raw recordings in {FIXTURES}")
    count = 0
    for name in names:
        with open(os.path.join(FIXTURES, name), "rb") as f:
            data = f.read()
        fs = list(frames(data))
        for i, (ctype, whole, body) in enumerate(fs):
            run = b"".join(w for _, w, _ in fs[i:i + 4])
            for blob in (whole, run):
                if len(blob) <= MAX_SEED:
                    put("codec_stream", blob)
                    put("decode_run", blob)
            if ctype.startswith(b"text/event-"):
                put("event_text", body)
            count += 1
    print(f"seeded from {len(names)} recordings, {count} frames")


if __name__ == "__main__":
    main()
