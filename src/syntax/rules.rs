//! The rules of a job that every front end applies the same way: task defaults, schema URIs,
//! which schema version each feature needs, and exit codes.

use crate::diag::Problem;
use crate::ir::{self, Job};
use crate::syntax::statement::Statement;

/// The executor of a task that names none; every task runs in `sh -c` whatever it says.
pub(crate) const DEFAULT_EXECUTOR: &str = "shell";

/// The exit codes that mean success for a task that lists none.
pub(crate) const DEFAULT_CONTINUE_CODES: [u16; 1] = [0];

/// A version of the factfile schema that a feature may need, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SchemaVersion {
    /// The only schema Factotum 0.7 knows.
    V1_0_0,
    /// Adds job-level `constraints`.
    V1_1_0,
}

pub(crate) use SchemaVersion::{V1_0_0, V1_1_0};

impl SchemaVersion {
    /// `1-1-0`, as the end of a schema URI spells it.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::V1_0_0 => "1-0-0",
            Self::V1_1_0 => "1-1-0",
        }
    }

    /// Factotum's schema URI for this version.
    pub(crate) const fn uri(self) -> &'static str {
        match self {
            Self::V1_0_0 => ir::SCHEMA_1_0_0,
            Self::V1_1_0 => ir::SCHEMA_1_1_0,
        }
    }

    const fn parts(self) -> [u32; 3] {
        match self {
            Self::V1_0_0 => [1, 0, 0],
            Self::V1_1_0 => [1, 1, 0],
        }
    }
}

/// The schema version that introduced job-level `constraints`.
pub(crate) const CONSTRAINTS_SINCE: SchemaVersion = V1_1_0;

/// The schema a job declares when its file does not name one: the lowest version that can
/// express it, so that Factotum 0.7 runs every job it can.
pub(crate) fn lowest_schema(job: &Job) -> SchemaVersion {
    let mut lowest = if job.constraints.is_empty() && !job.declares_constraints {
        V1_0_0
    } else {
        CONSTRAINTS_SINCE
    };
    for statement in Statement::ALL {
        if statement.since() > lowest && job.tasks.iter().any(|task| statement.is_written(task)) {
            lowest = statement.since();
        }
    }
    lowest
}

/// The largest exit code the schema allows.
const MAX_CODE: u16 = 32767;

/// Whether `uri` matches 0.7's pattern
/// `^iglu:[a-zA-Z0-9-_.]+/[a-zA-Z0-9-_]+/[a-zA-Z0-9-_]+/[0-9]+-[0-9]+-[0-9]+$`.
pub(crate) fn is_iglu_uri(uri: &str) -> bool {
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

/// Whether the version at the end of an iglu URI (`…/1-1-0`) is `since` or later.
pub(crate) fn schema_allows(uri: &str, since: SchemaVersion) -> bool {
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
    version.is_some_and(|version| version.as_slice() >= since.parts().as_slice())
}

/// Reads an exit code from the text of a number token (`-1` and `1.5` are tokens too, so that
/// they can be reported as codes rather than as syntax errors).
pub(crate) fn exit_code(number: &str) -> Result<u16, Problem> {
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
    use super::{CONSTRAINTS_SINCE, exit_code, schema_allows};

    #[test]
    fn constraints_need_1_1_0() {
        let allows_constraints = |uri| schema_allows(uri, CONSTRAINTS_SINCE);
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
