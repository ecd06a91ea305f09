//! kcat's output format strings (`-f`) and the backslash escapes of its delimiter and
//! format arguments.
//!
//! Tokens: `%t` topic, `%p` partition, `%o` offset, `%k` key, `%K` key length, `%s` value,
//! `%S` value length, `%R` value length as a big-endian 32-bit integer, `%h` headers as
//! `k=v,k2=v2`, `%T` timestamp (ms since the epoch), `%%` a percent sign. Lengths are -1
//! for null; a null key or value prints nothing, or the null string (`-Z`: `NULL`) when
//! one is given; a null header value prints `NULL`, as kcat does.

use tidelog::client::consumer::ConsumerRecord;

/// Decodes kcat's backslash escapes: `\n`, `\r`, `\t`, `\xHH` (one or two hex digits);
/// any other escaped character stands for itself, so `\\` is a backslash. A lone trailing
/// backslash is kept.
pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        match bytes[i] {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take(2)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
                if digits == 0 {
                    out.push(b'x');
                } else {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 1 + digits])
                        .expect("hex digits are ASCII");
                    out.push(u8::from_str_radix(hex, 16).expect("checked hex digits"));
                    i += digits;
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

/// One piece of a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    KeyLength,
    Value,
    ValueLength,
    ValueLengthBinary,
    Headers,
    Timestamp,
}

/// A parsed `-f` format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    tokens: Vec<Token>,
}

impl Format {
    /// The output without `-f`: the value, then a newline.
    pub fn default_output() -> Format {
        Format {
            tokens: vec![Token::Value, Token::Literal(b"\n".to_vec())],
        }
    }

    /// Parses a kcat format string.
    ///
    /// # Errors
    /// A message naming an unsupported `%` token, or a trailing lone `%`.
    pub fn parse(format: &str) -> Result<Format, String> {
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let token = match chars.next() {
                Some('t') => Token::Topic,
                Some('p') => Token::Partition,
                Some('o') => Token::Offset,
                Some('k') => Token::Key,
                Some('K') => Token::KeyLength,
                Some('s') => Token::Value,
                Some('S') => Token::ValueLength,
                Some('R') => Token::ValueLengthBinary,
                Some('h') => Token::Headers,
                Some('T') => Token::Timestamp,
                Some('%') => {
                    // Not unescaped: `%%` is a percent sign whatever follows.
                    push_literal(&mut tokens, &mut literal);
                    tokens.push(Token::Literal(b"%".to_vec()));
                    continue;
                }
                Some(other) => {
                    return Err(format!(
                        "unsupported format token %{other} (expected one of %t %p %o %k %K \
                         %s %S %R %h %T %%)"
                    ))
                }
                None => return Err("the format ends with a lone %".into()),
            };
            push_literal(&mut tokens, &mut literal);
            tokens.push(token);
        }
        push_literal(&mut tokens, &mut literal);
        Ok(Format { tokens })
    }

    /// Appends `record` formatted to `out`; a null key or value prints `null` (empty
    /// unless `-Z`).
    pub fn write(&self, out: &mut Vec<u8>, record: &ConsumerRecord, null: &[u8]) {
        use std::io::Write;
        for token in &self.tokens {
            // Writing to a Vec cannot fail.
            let _ = match token {
                Token::Literal(bytes) => {
                    out.extend_from_slice(bytes);
                    Ok(())
                }
                Token::Topic => {
                    out.extend_from_slice(record.topic.as_bytes());
                    Ok(())
                }
                Token::Partition => write!(out, "{}", record.partition),
                Token::Offset => write!(out, "{}", record.offset),
                Token::Timestamp => write!(out, "{}", record.timestamp_ms),
                Token::Key => {
                    out.extend_from_slice(record.key.as_deref().unwrap_or(null));
                    Ok(())
                }
                Token::Value => {
                    out.extend_from_slice(record.value.as_deref().unwrap_or(null));
                    Ok(())
                }
                Token::KeyLength => write!(out, "{}", length(record.key.as_deref())),
                Token::ValueLength => write!(out, "{}", length(record.value.as_deref())),
                Token::ValueLengthBinary => {
                    let len = length(record.value.as_deref()) as i32;
                    out.extend_from_slice(&len.to_be_bytes());
                    Ok(())
                }
                Token::Headers => {
                    for (i, (key, value)) in record.headers.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(key.as_bytes());
                        out.push(b'=');
                        out.extend_from_slice(value.as_deref().unwrap_or(b"NULL"));
                    }
                    Ok(())
                }
            };
        }
    }
}

fn push_literal(tokens: &mut Vec<Token>, literal: &mut String) {
    if !literal.is_empty() {
        tokens.push(Token::Literal(unescape(literal)));
        literal.clear();
    }
}

fn length(bytes: Option<&[u8]>) -> i64 {
    bytes.map_or(-1, |b| b.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Some(text)` as the record's byte type.
    fn b<T: From<Vec<u8>>>(text: &str) -> Option<T> {
        Some(text.as_bytes().to_vec().into())
    }

    fn record() -> ConsumerRecord {
        ConsumerRecord {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            timestamp_ms: 1_700_000_000_123,
            key: b("k1"),
            value: b("hello"),
            headers: vec![("trace".into(), b("abc")), ("empty".into(), None)],
        }
    }

    fn render(format: &str, record: &ConsumerRecord, null: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Format::parse(format).unwrap().write(&mut out, record, null);
        out
    }

    #[test]
    fn every_token_renders_as_kcat_does() {
        let out = render("%t|%p|%o|%k|%K|%s|%S|%h|%T|100%%\\n\\t\\\\", &record(), b"");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "orders|2|41|k1|2|hello|5|trace=abc,empty=NULL|1700000000123|100%\n\t\\"
        );
        assert_eq!(render("%R", &record(), b""), vec![0, 0, 0, 5]);
    }

    #[test]
    fn nulls_print_empty_or_the_null_string_with_minus_one_lengths() {
        let mut null = record();
        null.key = None;
        null.value = None;
        null.headers.clear();
        assert_eq!(
            render("[%k][%s][%K][%S][%h]", &null, b""),
            b"[][][-1][-1][]"
        );
        assert_eq!(render("[%k][%s]", &null, b"NULL"), b"[NULL][NULL]");
        let mut empty = record();
        empty.key = b("");
        assert_eq!(render("[%k][%K]", &empty, b"NULL"), b"[][0]");
    }

    #[test]
    fn the_default_is_the_value_and_a_newline() {
        let mut out = Vec::new();
        Format::default_output().write(&mut out, &record(), b"");
        assert_eq!(out, b"hello\n");
    }

    #[test]
    fn bad_tokens_are_rejected() {
        assert!(Format::parse("%q").unwrap_err().contains("%q"));
        assert!(Format::parse("%s%").unwrap_err().contains("lone %"));
    }

    #[test]
    fn escapes_decode() {
        assert_eq!(unescape(r"a\tb"), b"a\tb");
        assert_eq!(unescape(r"\x1f\x41x"), b"\x1fAx");
        assert_eq!(unescape(r"\xZ"), b"xZ");
        assert_eq!(unescape(r"\\n"), b"\\n");
        assert_eq!(unescape(r"\:"), b":");
        assert_eq!(unescape("end\\"), b"end\\");
        assert_eq!(unescape("::"), b"::");
    }
}
