//! The rules of a job that every front end applies the same way: schema URIs, the schema
//! version that allows constraints, and exit codes.

use crate::diag::Problem;

/// The schema version that introduced `constraints`.
const CONSTRAINTS_SINCE: [u32; 3] = [1, 1, 0];

/// The largest exit code the schema allows.
const MAX_CODE: u16 = 32767;

/// Whether `uri` matches 0.7's pattern
/// `^iglu:[a-zA-Z0-9-_.]+/[a-zA-Z0-9-_]+/[a-zA-Z0-9-_]+/[0-9]+-[0-9]+-[0-9]+$`.
pub(super) fn is_iglu_uri(uri: &str) -> bool {
    let Some(path) = uri.strip_prefix("iglu:") else {
        return false;
    };
    let word = |part: &str, extra: &[u8]| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || extra.contains(&b))
    };
    let parts: Vec<&str> = path.split('/').collect();
    let [vendor, name, format, version] = parts.as_slice() else {
        return false;
    };
    let version_parts: Vec<&str> = version.split('-').collect();
    word(vendor, b".")
        && word(name, b"")
        && word(format, b"")
        && version_parts.len() == 3
        && version_parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether the version at the end of an iglu URI (`…/1-1-0`) allows job-level `constraints`.
pub(super) fn allows_constraints(uri: &str) -> bool {
    let version: Option<Vec<u32>> = uri
        .rsplit('/')
        .next()
        .map(|version| {
            version
                .split('-')
                .map(|part| part.parse().ok())
                .collect::<Option<_>>()
        })
        .and_then(|parts| parts);
    version.is_some_and(|version| version.as_slice() >= CONSTRAINTS_SINCE.as_slice())
}

/// Reads an exit code from the text of a number token (`-1` and `1.5` are tokens too, so that
/// they can be reported as codes rather than as syntax errors).
pub(super) fn exit_code(number: &str) -> Result<u16, Problem> {
    let digits = number.strip_prefix('-').unwrap_or(number);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::CodeNotInteger {
            found: number.to_owned(),
        });
    }
    match number.parse::<u16>() {
        Ok(code) if code <= MAX_CODE => Ok(code),
        _ => Err(Problem::CodeOutOfRange {
            code: number.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::{allows_constraints, exit_code};

    #[test]
    fn constraints_need_1_1_0() {
        assert!(!allows_constraints(crate::ir::SCHEMA_1_0_0));
        assert!(allows_constraints(crate::ir::SCHEMA_1_1_0));
        assert!(allows_constraints("iglu:com.acme/job/jsonschema/2-0-0"));
        assert!(!allows_constraints("iglu:com.acme/job/jsonschema/1-0-9"));
        assert!(!allows_constraints("not a uri"));
    }

    #[test]
    fn codes_are_integers_in_range() {
        assert_eq!(exit_code("007"), Ok(7));
        assert_eq!(exit_code("32767"), Ok(32767));
        assert!(exit_code("32768").is_err());
        assert!(exit_code("-1").is_err());
        assert!(exit_code("1.5").is_err());
    }
}
