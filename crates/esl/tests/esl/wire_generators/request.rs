//! A minimal server-side reader of controller commands, following mod_event_socket's `read_packet`
//! (`src/mod/event_handlers/mod_event_socket/mod_event_socket.c`) byte for byte where it matters:
//!
//! - `\r`/`\n` bytes before a command are skipped;
//! - the header block ends at the second `\n` in a row, `\r` in between not counting;
//! - lines are cut at the next `\r` if there is one anywhere after the line start, else at the next
//!   `\n` (`strchr(cur, '\r') || strchr(cur, '\n')`), then every following `\r`/`\n` is skipped;
//! - the first line is the command (handlers cut it at its first `\r`/`\n`); every other line is a
//!   header `name:value` with the spaces after the colon dropped (a line without a colon is ignored);
//! - a `Content-Length` header with `atoi(value) > 0` makes exactly that many bytes after the block
//!   the body, of which FreeSWITCH keeps what `switch_event_add_body(event, "%s", body)` keeps: the
//!   bytes before the first NUL.

/// One command as FreeSWITCH reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub command: String,
    pub headers: Vec<(String, String)>,
    /// The body as FreeSWITCH stores it (up to the first NUL).
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads every command in `input`. `Err` names the offset where a command is incomplete.
pub fn read_all(mut input: &[u8]) -> Result<Vec<Request>, usize> {
    let total = input.len();
    let mut out = Vec::new();
    loop {
        while let [b'\r' | b'\n', rest @ ..] = input {
            input = rest;
        }
        if input.is_empty() {
            return Ok(out);
        }
        let (req, used) = read_one(input).ok_or(total - input.len())?;
        out.push(req);
        input = &input[used..];
    }
}

/// One command at the start of `input` (which does not start with `\r`/`\n`) and its length.
fn read_one(input: &[u8]) -> Option<(Request, usize)> {
    let mut newlines = 0;
    let mut block_end = None;
    for (i, &b) in input.iter().enumerate() {
        match b {
            b'\n' => newlines += 1,
            b'\r' => {}
            _ => newlines = 0,
        }
        if newlines == 2 {
            block_end = Some(i + 1);
            break;
        }
    }
    let block = &input[..block_end?];
    let mut command = None;
    let mut headers = Vec::new();
    let mut clen: i64 = 0;
    let mut cur = 0;
    while cur < block.len() {
        let rest = &block[cur..];
        let stop = memchr::memchr(b'\r', rest)
            .or_else(|| memchr::memchr(b'\n', rest))
            .unwrap_or(rest.len());
        let line = &rest[..stop];
        let mut next = cur + stop;
        while matches!(block.get(next), Some(b'\r' | b'\n')) {
            next += 1;
        }
        // strip_cr: the line also ends at its own first `\r`/`\n` (only matters after a `\r` jump).
        let line = match line.iter().position(|b| matches!(b, b'\r' | b'\n')) {
            Some(p) => &line[..p],
            None => line,
        };
        if command.is_none() {
            command = Some(String::from_utf8_lossy(line).into_owned());
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).into_owned();
            let value = &line[colon + 1..];
            let value = &value[value.iter().take_while(|&&b| b == b' ').count()..];
            let value = String::from_utf8_lossy(value).into_owned();
            if name.eq_ignore_ascii_case("content-length") {
                clen = atoi(&value);
            }
            headers.push((name, value));
        }
        cur = next;
    }
    let mut used = block.len();
    let body = if clen > 0 {
        let n = usize::try_from(clen).ok()?;
        let raw = input.get(used..used + n)?;
        used += n;
        Some(raw[..memchr::memchr(0, raw).unwrap_or(raw.len())].to_vec())
    } else {
        None
    };
    Some((
        Request {
            command: command.unwrap_or_default(),
            headers,
            body,
        },
        used,
    ))
}

/// C `atoi`: leading white space, an optional sign, digits; 0 if none.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg { -n } else { n }
}
