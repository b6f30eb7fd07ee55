//! Backends that turn IR or diagnostics into text.

pub mod diagnostics;
pub mod dsl;
mod excerpt;
pub mod json;
