//! A nesting bound checked before pest sees the text: pest recurses once per level, so deep
//! input such as 200,000 `[` would overflow the stack.

use crate::diag::{Diagnostic, Problem};
use crate::span::Span;

/// Deeper than any factfile needs (they use five levels); the same bound `serde_json` uses.
pub(super) const MAX_DEPTH: usize = 128;

/// Reports the first bracket that opens level `MAX_DEPTH + 1`, ignoring brackets in strings.
pub(super) fn check(text: &str) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, byte) in text.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let problem = Problem::NestingTooDeep { limit: MAX_DEPTH };
                    let label = format!("level {depth} starts here");
                    return Err(Diagnostic::new(problem).at(Span::at(offset), label));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
