//! The rules of a job that every front end applies the same way: task defaults, schema URIs,
//! which schema version each feature needs, and exit codes.

use crate::diag::Problem;
use crate::ir::{self, Decimal, Job};
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

/// The schema version that introduced the job's `timeout` and `pools`, and the task options.
pub(crate) const OPTIONS_SINCE: SchemaVersion = V1_1_0;

/// Whether the job says anything of schema 1-1-0's job-level options.
pub(crate) fn has_job_options(job: &Job) -> bool {
    job.timeout.is_some() || !job.pools.is_empty()
}

/// The schema a job declares when its file does not name one: the lowest version that can
/// express it, so that Factotum 0.7 runs every job it can.
pub(crate) fn lowest_schema(job: &Job) -> SchemaVersion {
    let mut lowest = V1_0_0;
    if !job.constraints.is_empty() || job.declares_constraints {
        lowest = lowest.max(CONSTRAINTS_SINCE);
    }
    if has_job_options(job) {
        lowest = lowest.max(OPTIONS_SINCE);
    }
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

/// What a number an option takes may be: how it is read, its bounds in thousandths, and how
/// a message describes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// Whether only whole numbers are allowed.
    whole: bool,
    /// The least value, in thousandths.
    least: u64,
    /// The greatest value, in thousandths.
    greatest: u64,
    /// What the option expects, for the message: "a number of seconds from 0 to 86400".
    pub(crate) expected: &'static str,
}

/// `attempts`: how many times a task runs at most, the first time included.
pub(crate) const ATTEMPTS: Bounds = Bounds {
    whole: true,
    least: 1000,
    greatest: 100_000,
    expected: "a whole number of attempts from 1 to 100",
};

/// A pool's size.
pub(crate) const POOL_SIZE: Bounds = Bounds {
    whole: true,
    least: 1000,
    greatest: 10_000_000,
    expected: "a whole number of tasks from 1 to 10000",
};

/// A wait between attempts, and the longest wait.
pub(crate) const DELAY: Bounds = Bounds {
    whole: false,
    least: 0,
    greatest: 86_400_000,
    expected: "a number of seconds from 0 to 86400 (a day), to the millisecond",
};

/// The factor each wait is multiplied by for the next.
pub(crate) const BACKOFF: Bounds = Bounds {
    whole: false,
    least: 1000,
    greatest: 100_000,
    expected: "a factor from 1 to 100, to the thousandth",
};

/// A task's or the job's time limit.
pub(crate) const TIMEOUT: Bounds = Bounds {
    whole: false,
    least: 1,
    greatest: 31_536_000_000,
    expected: "a number of seconds above 0 and up to 31536000 (a year), to the millisecond",
};

/// Reads `number` (the text of a JSON number, or of the DSL's number before its unit) times
/// `unit` as a value within `bounds`; `option` and `found` (the text as written) word the
/// problem.
pub(crate) fn option_number(
    number: &str,
    unit: u64,
    bounds: Bounds,
    option: &'static str,
    found: &str,
) -> Result<Decimal, Problem> {
    let problem = || Problem::OptionValue {
        option,
        found: found.to_owned(),
        expected: bounds.expected,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let fraction = fraction.trim_end_matches('0');
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 3 {
        return Err(problem());
    }
    if bounds.whole && !fraction.is_empty() {
        return Err(problem());
    }
    let whole: u64 = whole.parse().map_err(|_| problem())?;
    let fraction: u64 = format!("{fraction:0<3}").parse().map_err(|_| problem())?;
    let thousandths = whole
        .checked_mul(1000)
        .and_then(|value| value.checked_add(fraction))
        .and_then(|value| value.checked_mul(unit))
        .filter(|value| (bounds.least..=bounds.greatest).contains(value))
        .ok_or_else(problem)?;
    Ok(Decimal::from_thousandths(thousandths))
}

/// Reads a whole number within `bounds` (attempts, a pool's size).
pub(crate) fn option_count(
    number: &str,
    bounds: Bounds,
    option: &'static str,
) -> Result<u32, Problem> {
    let value = option_number(number, 1, bounds, option, number)?;
    u32::try_from(value.thousandths() / 1000).map_err(|_| Problem::OptionValue {
        option,
        found: number.to_owned(),
        expected: bounds.expected,
    })
}

#[cfg(test)]
mod tests {
    use super::{
        ATTEMPTS, BACKOFF, CONSTRAINTS_SINCE, DELAY, TIMEOUT, exit_code, option_count,
        option_number, schema_allows,
    };

    #[test]
    fn option_numbers_are_exact_and_bounded() {
        let seconds = |text: &str, unit, bounds| {
            option_number(text, unit, bounds, "timeout", text).map(crate::ir::Decimal::thousandths)
        };
        assert_eq!(seconds("1.5", 1, TIMEOUT), Ok(1500));
        assert_eq!(seconds("1.500000", 1, TIMEOUT), Ok(1500));
        assert_eq!(seconds("0.001", 1, TIMEOUT), Ok(1));
        assert_eq!(seconds("2", 60, TIMEOUT), Ok(120_000));
        assert_eq!(seconds("0", 1, DELAY), Ok(0));
        assert!(seconds("0", 1, TIMEOUT).is_err());
        assert!(seconds("-1", 1, TIMEOUT).is_err());
        assert!(seconds("0.0001", 1, TIMEOUT).is_err());
        assert!(seconds("1e3", 1, TIMEOUT).is_err());
        assert!(seconds("99999999999999999999", 1, TIMEOUT).is_err());
        assert!(seconds("0.5", 1, BACKOFF).is_err());
        assert_eq!(option_count("3", ATTEMPTS, "attempts"), Ok(3));
        assert!(option_count("0", ATTEMPTS, "attempts").is_err());
        assert!(option_count("2.5", ATTEMPTS, "attempts").is_err());
        assert!(option_count("101", ATTEMPTS, "attempts").is_err());
    }

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
