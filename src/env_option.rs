//! `--env JSON`: template variables from the command line.

use std::fmt;

use serde_json::Value;

use crate::template::Variables;

/// Why an `--env` value was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EnvError {
    /// Not JSON at all; `serde_json`'s message says where.
    Syntax(String),
    /// JSON, but not an object.
    NotAnObject(&'static str),
    /// A value that has no text form.
    BadValue {
        /// The dotted name of the variable.
        name: String,
        /// What it is instead.
        found: &'static str,
    },
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(reason) => write!(f, "`--env` is not valid JSON: {reason}"),
            Self::NotAnObject(found) => write!(f, "`--env` must be a JSON object, found {found}"),
            Self::BadValue { name, found } => write!(
                f,
                "`--env` variable `{name}` is {found}: values must be strings, numbers, booleans or objects"
            ),
        }
    }
}

/// Reads `--env`: strings, numbers and booleans become text; nested objects are reached by
/// dotted names (`{"a": {"b": 1}}` gives `a.b`).
pub(crate) fn parse(text: &str) -> Result<Variables, EnvError> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| EnvError::Syntax(error.to_string()))?;
    let Value::Object(object) = value else {
        return Err(EnvError::NotAnObject(describe(&value)));
    };
    let mut variables = Variables::new();
    let mut pending: Vec<(String, Value)> = object.into_iter().collect();
    while let Some((name, value)) = pending.pop() {
        let text = match value {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Object(object) => {
                pending.extend(
                    object
                        .into_iter()
                        .map(|(key, value)| (format!("{name}.{key}"), value)),
                );
                continue;
            }
            other @ (Value::Null | Value::Array(_)) => {
                return Err(EnvError::BadValue {
                    name,
                    found: describe(&other),
                });
            }
        };
        variables.insert(name, text);
    }
    Ok(variables)
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::{EnvError, parse};

    #[test]
    fn flattens_and_stringifies() {
        let variables =
            parse(r#"{"a": "x", "n": 3, "b": true, "o": {"p": {"q": "deep"}}}"#).unwrap();
        assert_eq!(variables["a"], "x");
        assert_eq!(variables["n"], "3");
        assert_eq!(variables["b"], "true");
        assert_eq!(variables["o.p.q"], "deep");
        assert_eq!(variables.len(), 4);
    }

    #[test]
    fn refuses_what_has_no_text() {
        assert_eq!(parse("[1]"), Err(EnvError::NotAnObject("an array")));
        assert!(matches!(
            parse(r#"{"a": null}"#),
            Err(EnvError::BadValue { .. })
        ));
        let error = parse("{\"a\": ").unwrap_err().to_string();
        assert!(error.contains("line 1 column 6"), "{error}");
    }
}
