//! Backends that turn IR or diagnostics into text.

pub mod diagnostics;
pub mod dot;
pub mod drawing;
mod excerpt;
pub mod mermaid;
