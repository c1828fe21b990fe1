//! The lazy plain decoder ([`crate::plain_walk`] + shared [`Headers`]) against the eager one it
//! replaced on the common path: same headers, same values, same errors; zero copy; round trip with
//! FreeSWITCH's encoding; DTMF frames still private and zeroizable.

use crate::event::{parse_plain, parse_plain_eager};
use crate::frame::{ContentType, Headers};
use crate::url::{UNDEF, url_encode};
use crate::{EslCodec, Event};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Both decoders' results, errors compared by their text (`WireError` is not `PartialEq`).
fn both(text: &[u8]) -> (Result<Event, String>, Result<Event, String>) {
    let text = Bytes::copy_from_slice(text);
    let lazy = parse_plain(&text).map_err(|e| format!("{e:?}"));
    let eager = parse_plain_eager(&text).map_err(|e| format!("{e:?}"));
    (lazy, eager)
}

/// Every value read by name agrees too (the first of each name, as `get` returns it).
fn same_lookups(lazy: &Event, eager: &Event) {
    for (name, _) in eager.headers.iter() {
        assert_eq!(lazy.get(name), eager.get(name), "{name}");
        assert_eq!(
            lazy.headers.get_last(name),
            eager.headers.get_last(name),
            "{name}"
        );
    }
}

/// Lookups on a freshly decoded event, before anything built its span table (a lookup then runs
/// over the line starts alone, `header_lines.rs`), agree with the eager decoder's: every name as
/// sent, upper- and lowercased, a name that is absent and one holding `: `. Each lookup gets its
/// own fresh event, since reading an escaped value builds the table.
fn fresh_lookups(text: &Bytes, eager: &Event) {
    let mut names: Vec<String> = vec!["Absent-Name".into(), String::new(), "a: b".into()];
    for (name, _) in eager.headers.iter() {
        names.extend([
            name.to_owned(),
            name.to_ascii_lowercase(),
            name.to_ascii_uppercase(),
            format!("{name}: "),
            format!("{name}x"),
        ]);
    }
    for name in &names {
        let lazy = parse_plain(text).unwrap();
        assert_eq!(lazy.get(name), eager.get(name), "get {name:?}");
        let lazy = parse_plain(text).unwrap();
        assert_eq!(
            lazy.headers.contains(name),
            eager.headers.contains(name),
            "contains {name:?}"
        );
    }
    // Several lookups on one event, escaped ones among them, then every header.
    let lazy = parse_plain(text).unwrap();
    for name in &names {
        assert_eq!(lazy.get(name), eager.get(name), "get {name:?}");
    }
    assert_eq!(&lazy, eager);
    assert_eq!(lazy.headers.len(), eager.headers.len());
}

fn recorded_plain_events() -> Vec<Bytes> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/freeswitch-esl"
    );
    let mut out = Vec::new();
    for file in [
        "inbound-events-plain-all.raw",
        "inbound-large-and-edge-frames.raw",
    ] {
        let raw = std::fs::read(format!("{dir}/{file}")).unwrap();
        let mut buf = BytesMut::from(&raw[..]);
        let mut codec = EslCodec::default();
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            if frame.content_type == ContentType::EventPlain {
                out.push(frame.body.unwrap());
            }
        }
    }
    out
}

#[test]
fn lazy_and_eager_decoders_agree_on_the_recordings() {
    let events = recorded_plain_events();
    assert!(events.len() > 50, "{}", events.len());
    for text in events {
        let lazy = parse_plain(&text).unwrap();
        let eager = parse_plain_eager(&text).unwrap();
        fresh_lookups(&text, &eager);
        assert_eq!(lazy, eager);
        same_lookups(&lazy, &eager);
        // Zero copy: an unescaped value is a slice of the frame's own bytes.
        let uuid = lazy.unique_id().or(lazy.name()).unwrap();
        let at = uuid.as_ptr() as usize;
        let frame = text.as_ptr() as usize..text.as_ptr() as usize + text.len();
        assert!(frame.contains(&at), "{uuid} was copied");
    }
}

#[test]
fn edge_blocks_agree() {
    for text in [
        &b"\n"[..],
        b"A: b\n\n",
        b"A: %41\r\n\n",
        b"A: _undef_\nB: %5Fundef_\n\n",
        b"A: x\0y%41\nB%: c\n\n",
        b"A: \xc3\xa9%C3%A9\n\n",
        b"A: \xff\n\n",
        b"A: b\r\n\r\n",
        b"A: b\nContent-Length: 3\n\nxyz",
        b"A: b\nContent-Length:3\n\nxyz",
        b"A: b\ncontent-length: 0\n\n",
        b"A: b\nContent-Length: 4\n\nxyz",
        b"A: b\n\ntrailing",
        b"A:b\n\n",
        b": b\n\n",
        b"A: b",
        b"a:b: c\nd::: e: f\n\n",
        b"a: b: c\nA: second\n\n",
        b"A: \nB:  \r\nC: %\n\n",
        b"Content-Length: 1\nContent-Length: 2\n\nxy",
    ] {
        let (lazy, eager) = both(text);
        assert_eq!(lazy, eager, "{:?}", String::from_utf8_lossy(text));
        if let Ok(eager) = eager {
            fresh_lookups(&Bytes::copy_from_slice(text), &eager);
        }
    }
}

/// The walk reads 64-byte chunks and carries a line over from one to the next: every special
/// byte (`:` of the name, its space, `%`, NUL, `\r`, `\n`, the blank line) is put on each side of
/// a chunk boundary, and a line longer than two chunks too.
#[test]
fn lines_across_chunk_boundaries_agree() {
    let lines: [&[u8]; 7] = [
        b"Name: value\n",
        b"Name: v%41lue\n",
        b"Name:x: v\0\n",
        b"Name: _undef_\r\n",
        b"Na%me: %\n",
        b"Name:\n",
        b": empty name\n",
    ];
    let long = format!("Long: {}%41{}\n", "x".repeat(70), "y".repeat(70));
    // A name over a chunk boundary; a line of two chunks with no `: ` at all; its `: ` far in.
    let long_name = format!("{}: v\n", "N".repeat(70));
    let unnamed = format!("{}\n", "u:".repeat(70));
    let late = format!("{}: v\n", "n:".repeat(40));
    let longs = [
        long.as_bytes(),
        long_name.as_bytes(),
        unnamed.as_bytes(),
        late.as_bytes(),
    ];
    for pad in 0..140 {
        for l in lines.iter().copied().chain(longs) {
            let mut text = format!("P: {}\n", "p".repeat(pad)).into_bytes();
            text.extend_from_slice(l);
            text.extend_from_slice(b"Z: z\n\n");
            let (lazy, eager) = both(&text);
            assert_eq!(lazy, eager, "{:?}", String::from_utf8_lossy(&text));
            if let (Ok(lazy), Ok(eager)) = (&lazy, &eager) {
                same_lookups(lazy, eager);
                fresh_lookups(&Bytes::from(text), eager);
            }
        }
    }
}

/// One header line's parts, drawn from bytes that matter to the walk.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b":".to_vec()),
        Just(b": ".to_vec()),
        Just(b"%".to_vec()),
        Just(b"%4".to_vec()),
        Just(b"%41".to_vec()),
        Just(b"%C3%A9".to_vec()),
        Just(b"%00".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"\r".to_vec()),
        Just(b" ".to_vec()),
        Just(UNDEF.as_bytes().to_vec()),
        Just("\u{e9}".as_bytes().to_vec()),
        Just(b"\xff".to_vec()),
        "[A-Za-z0-9_-]{1,70}".prop_map(String::into_bytes),
    ];
    (
        "[A-Za-z-]{1,12}",
        proptest::collection::vec(piece, 0..6),
        any::<bool>(),
    )
        .prop_map(|(name, value, well_formed)| {
            let mut l = name.into_bytes();
            l.extend_from_slice(if well_formed { b": " } else { b"" });
            l.extend(value.concat());
            l.push(b'\n');
            l
        })
}

proptest! {
    /// Generated blocks, well formed or not, UTF-8 or not, with or without a body: the lazy decoder
    /// gives the same event (same pairs, same values by name) or the same error as the eager one.
    #[test]
    fn lazy_and_eager_decoders_agree(
        lines in proptest::collection::vec(line(), 0..12),
        body in proptest::option::of("[a-z\n:%]{0,80}"),
        blank in any::<bool>(),
    ) {
        let mut text = lines.concat();
        if let Some(body) = &body {
            text.extend_from_slice(format!("Content-Length: {}\n", body.len()).as_bytes());
        }
        if blank {
            text.push(b'\n');
        }
        text.extend_from_slice(body.as_deref().unwrap_or("").as_bytes());
        let (lazy, eager) = both(&text);
        prop_assert_eq!(&lazy, &eager);
        if let (Ok(lazy), Ok(eager)) = (&lazy, &eager) {
            same_lookups(lazy, eager);
            fresh_lookups(&Bytes::from(text), eager);
        }
    }

    /// FreeSWITCH's encoding (`switch_url_encode`, empty values as `_undef_`) read back lazily gives
    /// every value unchanged (values without a NUL, an uppercase `%XX` or the text `_undef_`: the
    /// ambiguities of the wire format itself).
    #[test]
    fn round_trip(pairs in proptest::collection::vec(("[A-Za-z][A-Za-z0-9_-]{0,20}", "(\\PC|%|[0-9A-F]|\r|\n)*"), 0..10)) {
        let pairs: Vec<_> = pairs
            .into_iter()
            .filter(|(_, v)| !v.contains('\0') && !has_upper_escape(v) && v != UNDEF)
            .collect();
        let mut text = String::new();
        for (n, v) in &pairs {
            let wire = if v.is_empty() { UNDEF.to_owned() } else { url_encode(v) };
            text.push_str(&format!("{n}: {wire}\n"));
        }
        text.push('\n');
        let event = parse_plain(&Bytes::from(text)).unwrap();
        let sent: Headers = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        prop_assert_eq!(&event.headers, &sent);
        prop_assert_eq!(event.body, None);
    }
}

fn has_upper_escape(v: &str) -> bool {
    let upper = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    v.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && upper(w[1]) && upper(w[2]))
}

/// A DTMF event decoded lazily points into the codec's private (zeroized-on-drop) copy, not the
/// read buffer; its `Debug` hides the digit; `zeroize` leaves no value, decoded ones included.
#[test]
fn dtmf_events_stay_private_and_zeroizable() {
    let body = b"Event-Name: DTMF\nDTMF-Digit: %23\nDigits: 4111\nUnique-ID: u1\n\n";
    let mut wire = format!(
        "Content-Length: {}\nContent-Type: text/event-plain\n\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(body);
    let mut buf = BytesMut::from(&wire[..]);
    let read_buffer = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let frame = EslCodec::default().decode(&mut buf).unwrap().unwrap();
    let mut event = frame.event().unwrap().unwrap();
    let uuid = event.unique_id().unwrap();
    assert_eq!(uuid, "u1");
    assert!(!read_buffer.contains(&(uuid.as_ptr() as usize)));
    assert_eq!(event.get("DTMF-Digit"), Some("#"));
    let shown = format!("{event:?}");
    assert!(!shown.contains("4111") && !shown.contains('#'), "{shown}");
    assert!(shown.contains("\"DTMF-Digit\": \"***\""), "{shown}");
    event.headers.zeroize();
    assert!(event.headers.is_empty());
    assert_eq!(event.get("DTMF-Digit"), None);
}

/// Adding a header to a lazily decoded event copies it into owned storage: old and new values read.
#[test]
fn pushing_onto_a_shared_list_keeps_every_value() {
    let mut event = parse_plain(&Bytes::from_static(b"Event-Name: CUSTOM\nX: 100%25\n\n")).unwrap();
    event.headers.push("Y", "new");
    let pairs: Vec<_> = event.headers.iter().collect();
    assert_eq!(
        pairs,
        [("Event-Name", "CUSTOM"), ("X", "100%"), ("Y", "new")]
    );
}
