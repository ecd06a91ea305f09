//! Reads scenario files (the format is in `conformance/README.md`).

/// One step: its verb and arguments, with the line it came from for messages.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub verb: String,
    /// The arguments in file order (`header.x` and `config.x` may repeat keys' prefixes).
    pub args: Vec<(String, String)>,
    /// A bare word after the verb (`requires restart`).
    pub word: Option<String>,
}

/// `%20` is a space and `%25` a percent sign in values.
fn unescape(value: &str) -> String {
    value.replace("%20", " ").replace("%25", "%")
}

/// The steps of a scenario file's text.
pub fn parse(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split(' ').filter(|w| !w.is_empty());
        let verb = words.next().unwrap_or_default().to_string();
        let mut step = Step {
            line: index + 1,
            verb,
            args: Vec::new(),
            word: None,
        };
        for word in words {
            match word.split_once('=') {
                Some((key, value)) => step.args.push((key.to_string(), unescape(value))),
                None if step.word.is_none() && step.args.is_empty() => {
                    step.word = Some(word.to_string())
                }
                None => return Err(format!("line {}: `{word}` is not key=value", index + 1)),
            }
        }
        steps.push(step);
    }
    Ok(steps)
}

impl Step {
    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a required `key`.
    pub fn need(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("line {}: `{}` needs {key}=", self.line, self.verb))
    }

    /// A required number.
    pub fn number(&self, key: &str) -> Result<i64, String> {
        let value = self.need(key)?;
        value
            .parse()
            .map_err(|_| format!("line {}: {key}={value} is not a number", self.line))
    }

    /// An optional number, `default` when absent.
    pub fn number_or(&self, key: &str, default: i64) -> Result<i64, String> {
        match self.get(key) {
            Some(_) => self.number(key),
            None => Ok(default),
        }
    }

    /// The `PREFIX.name=value` arguments, prefix removed, in file order.
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.args
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(prefix)
                    .and_then(|k| k.strip_prefix('.'))
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect()
    }
}

/// `{i}` replaced by `index`.
pub fn template(text: &str, index: i64) -> String {
    text.replace("{i}", &index.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_words_and_escapes() {
        let steps =
            parse("# about\n\nrequires restart\nproduce topic=t value=a%20b%25 header.h=x=y\n")
                .unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].word.as_deref(), Some("restart"));
        assert_eq!(steps[1].get("value"), Some("a b%"));
        assert_eq!(
            steps[1].prefixed("header"),
            vec![("h".into(), "x=y".into())]
        );
        assert_eq!(steps[1].line, 4);
        assert!(parse("produce topic=t stray").is_err());
    }
}
