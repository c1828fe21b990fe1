//! A checker of the Prometheus text exposition format (version 0.0.4) and of the naming conventions
//! confpay follows: every sample belongs to a family declared by one `# TYPE` line before it;
//! names and labels are well-formed; values are floats; counters end in `_total`; histograms end
//! in `_seconds` and have ascending `le` bounds, cumulative buckets, a `+Inf` bucket equal to
//! `_count`, and a `_sum`. Used by the unit tests and by the `/metrics` integration test.

use std::collections::BTreeMap;

/// Checks `text`; returns each family's name and type.
pub fn check(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    // Histogram series: (family, labels without le) -> (le bounds with counts, sum seen, count).
    let mut hist: BTreeMap<(String, String), Hist> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            comment(rest, &mut types).map_err(at)?;
            continue;
        }
        let s = sample(line).map_err(at)?;
        let (family, kind) = family_of(&s.name, &types).map_err(at)?;
        match kind.as_str() {
            "counter" if !family.ends_with("_total") => {
                return Err(at("a counter's name ends in _total".into()));
            }
            "histogram" => histogram_sample(&mut hist, &family, s).map_err(at)?,
            _ => {}
        }
    }
    for ((family, labels), h) in &hist {
        h.complete()
            .map_err(|e| format!("{family}{{{labels}}}: {e}"))?;
    }
    Ok(types)
}

fn comment(rest: &str, types: &mut BTreeMap<String, String>) -> Result<(), String> {
    let mut words = rest.trim_start().splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("TYPE"), Some(name), Some(kind)) => {
            valid_name(name)?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(format!("unknown type {kind}"));
            }
            if kind == "histogram" && !name.ends_with("_seconds") {
                return Err("a duration histogram's name ends in _seconds".into());
            }
            if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                return Err(format!("a second TYPE line for {name}"));
            }
            Ok(())
        }
        (Some("HELP"), Some(name), _) => valid_name(name),
        _ => Ok(()),
    }
}

/// A sample's labels: `(name, value)` in order.
type Labels = Vec<(String, String)>;

struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

fn sample(line: &str) -> Result<Sample, String> {
    let end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..end];
    valid_name(name)?;
    let mut rest = &line[end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(inner)?;
        labels = parsed;
        rest = after;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().map_err(|_| format!("bad value {v}"))?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts}"))?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `name="value",...}` → the labels and what follows the `}`.
fn label_set(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        if let Some(after) = s.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = s.find('=').ok_or("label without =")?;
        let name = &s[..eq];
        let ok = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !ok {
            return Err(format!("bad label name {name:?}"));
        }
        let body = s[eq + 1..]
            .strip_prefix('"')
            .ok_or("unquoted label value")?;
        let (value, after) = quoted(body)?;
        labels.push((name.to_owned(), value));
        s = after.strip_prefix(',').unwrap_or(after);
    }
}

/// The rest of a quoted value (after its opening quote) → the value and what follows its close.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                other => return Err(format!("bad escape {other:?}")),
            },
            '\n' => return Err("line break in a label value".into()),
            c => value.push(c),
        }
    }
    Err("unterminated label value".into())
}

fn valid_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().enumerate().all(|(i, c)| {
            c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!("bad metric name {name:?}"))
    }
}

/// The declared family a sample belongs to, and its type.
fn family_of(name: &str, types: &BTreeMap<String, String>) -> Result<(String, String), String> {
    if let Some(kind) = types.get(name) {
        return Ok((name.to_owned(), kind.clone()));
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && let Some(kind) = types.get(base)
            && (kind == "histogram" || (kind == "summary" && suffix != "_bucket"))
        {
            return Ok((base.to_owned(), kind.clone()));
        }
    }
    Err(format!("sample {name} before (or without) its TYPE line"))
}

#[derive(Default)]
struct Hist {
    buckets: Vec<(f64, f64)>,
    sum: bool,
    count: Option<f64>,
}

impl Hist {
    fn complete(&self) -> Result<(), String> {
        let inf = match self.buckets.last() {
            Some((le, n)) if le.is_infinite() => *n,
            _ => return Err("no +Inf bucket (last)".into()),
        };
        for w in self.buckets.windows(2) {
            if w[0].0 >= w[1].0 {
                return Err("le bounds not ascending".into());
            }
            if w[0].1 > w[1].1 {
                return Err("buckets not cumulative".into());
            }
        }
        if !self.sum {
            return Err("no _sum".into());
        }
        match self.count {
            Some(c) if c == inf => Ok(()),
            Some(c) => Err(format!("_count {c} is not the +Inf bucket {inf}")),
            None => Err("no _count".into()),
        }
    }
}

fn histogram_sample(
    hist: &mut BTreeMap<(String, String), Hist>,
    family: &str,
    s: Sample,
) -> Result<(), String> {
    let le = s
        .labels
        .iter()
        .find(|(k, _)| k == "le")
        .map(|(_, v)| v.clone());
    let key_labels: Vec<String> = s
        .labels
        .iter()
        .filter(|(k, _)| k != "le")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    let h = hist
        .entry((family.to_owned(), key_labels.join(",")))
        .or_default();
    match &s.name[family.len()..] {
        "_bucket" => {
            let le = le.ok_or("a bucket without le")?;
            let bound = match le.as_str() {
                "+Inf" => f64::INFINITY,
                v => v.parse::<f64>().map_err(|_| format!("bad le {v}"))?,
            };
            h.buckets.push((bound, s.value));
        }
        "_sum" => h.sum = true,
        "_count" => h.count = Some(s.value),
        _ => return Err("a histogram's series is _bucket, _sum or _count".into()),
    }
    Ok(())
}
