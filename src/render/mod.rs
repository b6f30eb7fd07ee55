//! Backends that turn IR or diagnostics into text.

pub mod diagnostics;
pub mod dot;
pub mod drawing;
pub mod dsl;
mod excerpt;
pub mod json;
pub mod mermaid;
