//! Finds frame boundaries in a byte buffer, with no I/O and no parsing beyond `Content-Length`.
//!
//! A frame is a header block ended by an empty line (`\n\n`; `\r\n\r\n` is tolerated too), then exactly
//! `Content-Length` body bytes if that header is present. The splitter is fed the same growing buffer
//! (whose first byte is always the start of the next frame) until it reports a frame; it remembers how
//! far it already scanned, so a frame arriving in many TCP chunks is scanned once, not once per chunk.
//!
//! Both the header block and the body count against `max_frame_bytes`. A `Content-Length` over the cap
//! is rejected as soon as the header block is complete: before the body is awaited or allocated.

use super::error::WireError;
use memchr::memchr_iter;

/// Where one complete frame lies at the start of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameBounds {
    /// Bytes of header lines, up to and including the last header line's `\n` (the blank line excluded).
    pub header_len: usize,
    /// Length of the blank line ending the header block: 1 (`\n`) or 2 (`\r\n`).
    pub blank_len: usize,
    /// `Content-Length`, if the frame had one.
    pub body_len: Option<usize>,
}

impl FrameBounds {
    /// Offset of the first body byte.
    pub fn body_start(&self) -> usize {
        self.header_len + self.blank_len
    }

    /// Bytes of the whole frame.
    pub fn total(&self) -> usize {
        self.body_start() + self.body_len.unwrap_or(0)
    }
}

/// The resumable frame-boundary scanner.
#[derive(Clone, Debug)]
pub struct Splitter {
    max_frame_bytes: usize,
    /// Bytes of the current frame already searched for the blank line.
    scanned: usize,
    /// The header block of the current frame, once found.
    head: Option<FrameBounds>,
}

impl Splitter {
    pub fn new(max_frame_bytes: usize) -> Splitter {
        Splitter {
            max_frame_bytes,
            scanned: 0,
            head: None,
        }
    }

    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// The bounds of the first frame in `buf` once it is complete, `Ok(None)` while more bytes are
    /// needed. After a frame is returned the caller must remove its `total()` bytes from the front of
    /// `buf` before calling again.
    pub fn next_frame(&mut self, buf: &[u8]) -> Result<Option<FrameBounds>, WireError> {
        let head = match self.head {
            Some(head) => Some(head),
            None => match self.scan_head(buf)? {
                Scan::Found(head) => Some(head),
                Scan::NeedMore => None,
            },
        };
        match head {
            Some(head) if buf.len() >= head.total() => {
                self.reset();
                Ok(Some(head))
            }
            // The one place that reports incomplete input.
            other => {
                self.head = other;
                Ok(None)
            }
        }
    }

    /// Bytes the current frame needs in total, once its header block is known (lets a codec reserve).
    pub fn pending_total(&self) -> Option<usize> {
        self.head.map(|h| h.total())
    }

    fn reset(&mut self) {
        self.scanned = 0;
        self.head = None;
    }

    /// Looks for the blank line from where the last call stopped; on finding it, reads and checks
    /// `Content-Length`.
    fn scan_head(&mut self, buf: &[u8]) -> Result<Scan, WireError> {
        // A blank line at the very start: an empty header block (the parser reports it).
        if self.scanned == 0 {
            match blank_line_at(buf, 0) {
                Blank::Yes(blank_len) => return self.bounds(buf, 0, blank_len).map(Scan::Found),
                Blank::Unknown => return self.check_header_cap(buf.len()),
                Blank::No => {}
            }
        }
        let from = self.scanned;
        for nl in memchr_iter(b'\n', &buf[from..]).map(|i| from + i) {
            match blank_line_at(buf, nl + 1) {
                Blank::Yes(blank_len) => {
                    return self.bounds(buf, nl + 1, blank_len).map(Scan::Found);
                }
                // Can't tell yet (`\n` or `\n\r` ends the buffer): look at this `\n` again next time.
                Blank::Unknown => {
                    self.scanned = nl;
                    return self.check_header_cap(buf.len());
                }
                Blank::No => {}
            }
        }
        self.scanned = buf.len();
        self.check_header_cap(buf.len())
    }

    fn check_header_cap(&self, buffered: usize) -> Result<Scan, WireError> {
        if buffered > self.max_frame_bytes {
            Err(WireError::HeaderTooLarge {
                limit: self.max_frame_bytes,
            })
        } else {
            Ok(Scan::NeedMore)
        }
    }

    fn bounds(
        &self,
        buf: &[u8],
        header_len: usize,
        blank_len: usize,
    ) -> Result<FrameBounds, WireError> {
        let body_len = content_length(&buf[..header_len])?;
        let head_bytes = header_len + blank_len;
        let over = match body_len {
            Some(n) => head_bytes as u64 + n > self.max_frame_bytes as u64,
            None => head_bytes > self.max_frame_bytes,
        };
        if over {
            return Err(match body_len {
                Some(n) => WireError::FrameTooLarge {
                    header_bytes: head_bytes,
                    content_length: n,
                    limit: self.max_frame_bytes,
                },
                None => WireError::HeaderTooLarge {
                    limit: self.max_frame_bytes,
                },
            });
        }
        Ok(FrameBounds {
            header_len,
            blank_len,
            // Fits in usize: it is at most `max_frame_bytes`.
            body_len: body_len.map(|n| n as usize),
        })
    }
}

/// What a scan for the end of the header block found.
enum Scan {
    Found(FrameBounds),
    NeedMore,
}

/// Whether a blank line starts at some offset.
enum Blank {
    No,
    /// Yes, this many bytes long (`\n` or `\r\n`).
    Yes(usize),
    /// The buffer ends before it can be told.
    Unknown,
}

fn blank_line_at(buf: &[u8], at: usize) -> Blank {
    match (buf.get(at), buf.get(at + 1)) {
        (None, _) | (Some(b'\r'), None) => Blank::Unknown,
        (Some(b'\n'), _) => Blank::Yes(1),
        (Some(b'\r'), Some(b'\n')) => Blank::Yes(2),
        _ => Blank::No,
    }
}

/// The frame's `Content-Length`, from its header block (lines ending `\n`, maybe `\r\n`).
/// Several equal values are accepted; different values are an error.
pub(crate) fn content_length(block: &[u8]) -> Result<Option<u64>, WireError> {
    const NAME: &[u8] = b"content-length:";
    let mut found: Option<(u64, usize)> = None;
    let mut line_start = 0;
    let ends = memchr_iter(b'\n', block).chain(std::iter::once(block.len()));
    for (idx, line_end) in ends.enumerate() {
        let line = &block[line_start.min(line_end)..line_end];
        line_start = line_end + 1;
        let line_no = idx + 1;
        if line.len() < NAME.len() || !line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            continue;
        }
        let value = parse_length(&line[NAME.len()..])
            .ok_or(WireError::InvalidContentLength { line: line_no })?;
        match found {
            Some((first, first_line)) if first != value => {
                return Err(WireError::ConflictingContentLength {
                    first_line,
                    line: line_no,
                });
            }
            Some(_) => {}
            None => found = Some((value, line_no)),
        }
    }
    Ok(found.map(|(v, _)| v))
}

/// ` 123` (optionally `\r`-terminated) as a number: one space, then 1..=20 ASCII digits that fit in u64.
pub(crate) fn parse_length(raw: &[u8]) -> Option<u64> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let digits = raw.strip_prefix(b" ")?;
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(max: usize, input: &[u8]) -> Vec<FrameBounds> {
        let mut s = Splitter::new(max);
        let mut buf = input.to_vec();
        let mut out = Vec::new();
        while let Some(b) = s.next_frame(&buf).expect("valid") {
            buf.drain(..b.total());
            out.push(b);
        }
        out
    }

    #[test]
    fn header_only_and_body_frames() {
        let input =
            b"Content-Type: auth/request\n\nContent-Type: api/response\nContent-Length: 3\n\nabcX";
        let frames = split_all(1024, input);
        assert_eq!(
            frames,
            [
                FrameBounds {
                    header_len: 27,
                    blank_len: 1,
                    body_len: None
                },
                FrameBounds {
                    header_len: 45,
                    blank_len: 1,
                    body_len: Some(3)
                },
            ]
        );
    }

    #[test]
    fn crlf_blank_line_is_tolerated() {
        let frames = split_all(1024, b"Content-Type: x\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!(
            frames,
            [FrameBounds {
                header_len: 36,
                blank_len: 2,
                body_len: Some(2)
            }]
        );
    }

    #[test]
    fn scan_resumes_instead_of_restarting() {
        let mut s = Splitter::new(1024);
        let input = b"Content-Type: command/reply\nReply-Text: +OK\n\n";
        assert_eq!(s.next_frame(&input[..30]).unwrap(), None);
        assert_eq!(s.scanned, 30);
        // Ends in "\n": that newline must be re-examined once more bytes arrive.
        assert_eq!(s.next_frame(&input[..44]).unwrap(), None);
        assert_eq!(s.scanned, 43);
        let b = s.next_frame(input).unwrap().unwrap();
        assert_eq!(b.total(), input.len());
    }

    #[test]
    fn cr_at_end_of_buffer_is_undecided() {
        let mut s = Splitter::new(1024);
        let input = b"A: b\r\n\r\n";
        assert_eq!(s.next_frame(&input[..7]).unwrap(), None);
        assert_eq!(s.next_frame(input).unwrap().unwrap().blank_len, 2);
    }

    #[test]
    fn oversized_content_length_rejected_before_body() {
        let mut s = Splitter::new(1024);
        let err = s
            .next_frame(b"Content-Length: 1073741824\nContent-Type: api/response\n\n")
            .unwrap_err();
        assert!(matches!(
            err,
            WireError::FrameTooLarge {
                content_length: 1073741824,
                limit: 1024,
                ..
            }
        ));
    }

    #[test]
    fn endless_header_block_rejected_at_cap() {
        let mut s = Splitter::new(16);
        assert!(s.next_frame(b"Content-Type: x").unwrap().is_none());
        assert!(matches!(
            s.next_frame(b"Content-Type: xyz\n"),
            Err(WireError::HeaderTooLarge { limit: 16 })
        ));
    }

    #[test]
    fn content_length_values() {
        assert_eq!(parse_length(b" 0"), Some(0));
        assert_eq!(parse_length(b" 39063\r"), Some(39063));
        assert_eq!(parse_length(b" -1"), None);
        assert_eq!(parse_length(b" +1"), None);
        assert_eq!(parse_length(b" 1e3"), None);
        assert_eq!(parse_length(b" "), None);
        assert_eq!(parse_length(b"12"), None);
        assert_eq!(parse_length(b" 99999999999999999999"), None);
        assert_eq!(parse_length(b" 18446744073709551615"), Some(u64::MAX));
        assert!(matches!(
            content_length(b"Content-Length: 2\ncontent-length: 3\n"),
            Err(WireError::ConflictingContentLength {
                first_line: 1,
                line: 2
            })
        ));
        assert_eq!(
            content_length(b"Content-Length: 2\nContent-Length: 2\n").unwrap(),
            Some(2)
        );
    }
}
