//! A JSON value printed the way FreeSWITCH's bundled cJSON (`cJSON_Print`, formatted) prints it: keys in
//! insertion order, `"key":\tvalue`, objects indented with tabs, array items separated by `", "` on one
//! line, no trailing newline. Used for `conference json_list` (recorded layout).

/// An ordered JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Str(String),
    Int(i64),
    Bool(bool),
    Obj(Vec<(String, Json)>),
    Arr(Vec<Json>),
}

impl Json {
    /// An object from `(key, value)` pairs, in that order.
    pub(crate) fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    pub(crate) fn str(s: &str) -> Json {
        Json::Str(s.to_owned())
    }

    /// `cJSON_Print` output.
    pub(crate) fn print(&self) -> String {
        let mut out = String::new();
        print_value(self, 0, &mut out);
        out
    }
}

fn tabs(n: usize, out: &mut String) {
    for _ in 0..n {
        out.push('\t');
    }
}

fn print_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn print_value(v: &Json, depth: usize, out: &mut String) {
    match v {
        Json::Str(s) => print_str(s, out),
        Json::Int(n) => out.push_str(&n.to_string()),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print_value(item, depth + 1, out);
            }
            out.push(']');
        }
        Json::Obj(pairs) => {
            let depth = depth + 1;
            out.push_str("{\n");
            for (i, (k, val)) in pairs.iter().enumerate() {
                tabs(depth, out);
                print_str(k, out);
                out.push_str(":\t");
                print_value(val, depth, out);
                if i + 1 < pairs.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            tabs(depth - 1, out);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_cjson() {
        let v = Json::Arr(vec![Json::obj([
            ("name", Json::str("test")),
            ("n", Json::Int(3)),
            ("vars", Json::Obj(Vec::new())),
            (
                "members",
                Json::Arr(vec![
                    Json::obj([("id", Json::Int(1)), ("ok", Json::Bool(true))]),
                    Json::obj([("id", Json::Int(2))]),
                ]),
            ),
        ])]);
        assert_eq!(
            v.print(),
            "[{\n\t\t\"name\":\t\"test\",\n\t\t\"n\":\t3,\n\t\t\"vars\":\t{\n\t\t},\n\t\t\"members\":\t[{\n\t\t\t\t\"id\":\t1,\n\t\t\t\t\"ok\":\ttrue\n\t\t\t}, {\n\t\t\t\t\"id\":\t2\n\t\t\t}]\n\t}]"
        );
    }

    #[test]
    fn escapes_strings() {
        assert_eq!(Json::str("a\"b\\c\n").print(), "\"a\\\"b\\\\c\\n\"");
    }
}
