//! Backends that turn IR or diagnostics into text.

pub mod diagnostics;
mod excerpt;
