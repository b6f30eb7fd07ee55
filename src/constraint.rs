//! Host constraints: `host,NAME` says which server of many a job runs on.
//!
//! Parsing and syntax checks are pure (the linter and `check --constraint` use them); only
//! [`HostConstraint::evaluate`] looks at this machine's name, interfaces and resolver.

use std::fmt;
use std::net::IpAddr;

/// A parsed constraint. Only `host` exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostConstraint {
    /// `host,*`: any machine.
    Any,
    /// `host,NAME`: the machine called NAME, or whose interface has an address NAME resolves to.
    Named(String),
}

/// Why a constraint is not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConstraintError {
    /// A type other than `host`.
    UnknownType(String),
    /// `host` with no value.
    MissingValue,
    /// Not `*`, an IP address or a hostname.
    BadValue(String),
}

impl fmt::Display for ConstraintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownType(kind) => {
                write!(
                    f,
                    "unknown constraint type `{kind}`: the only type is `host`"
                )
            }
            Self::MissingValue => write!(f, "the `host` constraint needs a value: `host,NAME`"),
            Self::BadValue(value) => write!(f, "`{value}` is not a hostname, an IP address or `*`"),
        }
    }
}

/// Splits `type,value` as Factotum 0.7 splits tags and constraints: the type is the text
/// before the first comma, trimmed; the value is the rest with its commas removed, trimmed.
pub(crate) fn split_key_value(text: &str) -> (&str, String) {
    match text.split_once(',') {
        Some((key, rest)) => (
            key.trim(),
            rest.split(',').collect::<String>().trim().to_owned(),
        ),
        None => (text.trim(), String::new()),
    }
}

impl HostConstraint {
    /// Parses `host,VALUE`.
    pub(crate) fn parse(text: &str) -> Result<Self, ConstraintError> {
        let (kind, value) = split_key_value(text);
        if kind != "host" {
            return Err(ConstraintError::UnknownType(kind.to_owned()));
        }
        if value.is_empty() {
            return Err(ConstraintError::MissingValue);
        }
        if value == "*" {
            return Ok(Self::Any);
        }
        if value.parse::<IpAddr>().is_ok() || is_hostname(&value) {
            Ok(Self::Named(value))
        } else {
            Err(ConstraintError::BadValue(value))
        }
    }

    /// Whether this machine is the one meant; `Err` carries the reason when it is not.
    pub(crate) fn evaluate(&self) -> Result<(), String> {
        let Self::Named(value) = self else {
            return Ok(());
        };
        let hostname = dns_lookup::get_hostname().unwrap_or_default();
        if *value == hostname {
            return Ok(());
        }
        let interfaces: Vec<IpAddr> = if_addrs::get_if_addrs()
            .map_err(|error| format!("cannot list the network interfaces: {error}"))?
            .into_iter()
            .filter(|interface| !interface.is_loopback())
            .map(|interface| interface.ip())
            .collect();
        if interfaces.is_empty() {
            return Err(format!(
                "this machine is `{hostname}` and has no non-loopback network interface addresses"
            ));
        }
        let resolved: Vec<IpAddr> = match dns_lookup::lookup_host(value) {
            Ok(addresses) => addresses.collect(),
            Err(error) => {
                return Err(format!(
                    "this machine is `{hostname}`, and `{value}` does not resolve ({error})"
                ));
            }
        };
        if resolved.iter().any(|address| interfaces.contains(address)) {
            return Ok(());
        }
        Err(format!(
            "this machine is `{hostname}` with interface addresses {}; `{value}` resolves to {}",
            list(&interfaces),
            list(&resolved)
        ))
    }
}

fn list(addresses: &[IpAddr]) -> String {
    let mut text: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    text.dedup();
    if text.is_empty() {
        "nothing".to_owned()
    } else {
        text.join(", ")
    }
}

/// RFC 1123 host names: dot-separated labels of letters, digits, `-` (and `_`, common in
/// internal names), each 1 to 63 characters, not starting or ending with `-`; 253 at most.
fn is_hostname(value: &str) -> bool {
    let value = value.strip_suffix('.').unwrap_or(value);
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::{ConstraintError, HostConstraint, split_key_value};

    #[test]
    fn splits_like_0_7() {
        assert_eq!(
            split_key_value("the rain,first,, wow,,"),
            ("the rain", "first wow".to_owned())
        );
        assert_eq!(split_key_value("env,a,b,c"), ("env", "abc".to_owned()));
        assert_eq!(
            split_key_value(" host , etl-1 "),
            ("host", "etl-1".to_owned())
        );
        assert_eq!(split_key_value("alone"), ("alone", String::new()));
    }

    #[test]
    fn parses_values() {
        assert_eq!(HostConstraint::parse("host,*"), Ok(HostConstraint::Any));
        for good in [
            "etl-1",
            "etl-1.example.com",
            "10.0.0.7",
            "::1",
            "fe80::1",
            "db_2.",
        ] {
            assert_eq!(
                HostConstraint::parse(&format!("host,{good}")),
                Ok(HostConstraint::Named(good.to_owned()))
            );
        }
        assert_eq!(
            HostConstraint::parse("hots,x"),
            Err(ConstraintError::UnknownType("hots".to_owned()))
        );
        assert_eq!(
            HostConstraint::parse("host"),
            Err(ConstraintError::MissingValue)
        );
        for bad in ["-x", "a..b", "white space", "x-", "ünï"] {
            assert!(
                matches!(
                    HostConstraint::parse(&format!("host,{bad}")),
                    Err(ConstraintError::BadValue(_))
                ),
                "{bad}"
            );
        }
    }
}
