//! The rules of factfile schema 1-0-0 that both JSON paths apply the same way.

use crate::diag::Problem;

/// Keys of the envelope, in the order 0.7 writes them.
pub(super) const ENVELOPE_KEYS: [&str; 2] = ["schema", "data"];
/// Keys of `data`.
pub(super) const JOB_KEYS: [&str; 2] = ["name", "tasks"];
/// Keys of a task, all required.
pub(super) const TASK_KEYS: [&str; 6] = [
    "name",
    "executor",
    "command",
    "arguments",
    "dependsOn",
    "onResult",
];
/// Keys of `onResult`, both required.
pub(super) const ON_RESULT_KEYS: [&str; 2] = ["terminateJobWithSuccess", "continueJob"];

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

/// Reads an exit code from the text of a JSON number token.
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
