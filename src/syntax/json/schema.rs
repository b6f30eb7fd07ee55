//! The keys of factfile schema 1-0-0 that both JSON paths check the same way: the fast path's
//! `serde` structs declare them, and the exact path reads the lists from those structs, so a
//! key is added in one place.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::fast::{Envelope, JobData, OnResultData, RetryData, TaskData};

/// Keys of the envelope, in the order 0.7 writes them.
pub(super) fn envelope_keys() -> &'static [&'static str] {
    keys_of::<Envelope<'_>>()
}

/// Keys of `data`; `constraints` is optional and needs schema 1-1-0.
pub(super) fn job_keys() -> &'static [&'static str] {
    keys_of::<JobData<'_>>()
}

/// Keys of a task.
pub(super) fn task_keys() -> &'static [&'static str] {
    keys_of::<TaskData<'_>>()
}

/// Keys of `onResult`, both required.
pub(super) fn on_result_keys() -> &'static [&'static str] {
    keys_of::<OnResultData<'_>>()
}

/// Keys of a task's `retry`; only `attempts` is required.
pub(super) fn retry_keys() -> &'static [&'static str] {
    keys_of::<RetryData<'_>>()
}

/// The keys that `serde`'s derive gives `T`, in declaration order: `T` is asked to read itself
/// from a deserializer that only records the field list it is offered.
fn keys_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut keys: &'static [&'static str] = &[];
    // The recorder always ends the read with `KeysRecorded`; the keys are what it saw.
    let _ = T::deserialize(KeyRecorder(&mut keys));
    keys
}

/// A deserializer that records the fields of the struct asked of it, and reads nothing.
struct KeyRecorder<'k>(&'k mut &'static [&'static str]);

/// The only outcome of reading from a [`KeyRecorder`].
#[derive(Debug)]
struct KeysRecorded;

impl fmt::Display for KeysRecorded {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the keys were recorded")
    }
}

impl std::error::Error for KeysRecorded {}

impl de::Error for KeysRecorded {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self
    }
}

impl<'de> Deserializer<'de> for KeyRecorder<'_> {
    type Error = KeysRecorded;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, KeysRecorded> {
        Err(KeysRecorded)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, KeysRecorded> {
        *self.0 = fields;
        Err(KeysRecorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::{envelope_keys, job_keys, on_result_keys, task_keys};

    /// Schema 1-0-0's keys come first, in the order 0.7 writes them (the order the notes of
    /// unknown-key diagnostics list them in); keys of later schemas may follow.
    #[test]
    fn the_keys_of_1_0_0_come_first_in_0_7s_order() {
        assert!(envelope_keys().starts_with(&["schema", "data"]));
        assert!(job_keys().starts_with(&["name", "tasks", "constraints"]));
        let task = [
            "name",
            "executor",
            "command",
            "arguments",
            "dependsOn",
            "onResult",
        ];
        assert!(task_keys().starts_with(&task), "{:?}", task_keys());
        let on_result = ["terminateJobWithSuccess", "continueJob"];
        assert!(on_result_keys().starts_with(&on_result));
    }
}
