//! The keys of factfile schema 1-0-0 that both JSON paths check the same way.

/// Keys of the envelope, in the order 0.7 writes them.
pub(super) const ENVELOPE_KEYS: [&str; 2] = ["schema", "data"];
/// Keys of `data`; `constraints` is optional and needs schema 1-1-0.
pub(super) const JOB_KEYS: [&str; 3] = ["name", "tasks", "constraints"];
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
