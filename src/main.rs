//! The `factotum` binary; everything lives in the library.

use std::io::Write as _;

fn main() -> std::process::ExitCode {
    install_panic_hook();
    factotum::run(std::env::args_os())
}

/// A panic is a bug in factotum: users get a short note asking for a report instead of
/// Rust's report and backtrace, which follow only when `RUST_BACKTRACE` is set, for whoever
/// debugs it. The exit code stays Rust's 101.
fn install_panic_hook() {
    let standard = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        let place = info.location().map(|at| (at.file(), at.line()));
        // Written, not printed: a closed stderr must not panic inside the panic.
        let _ = std::io::stderr().write_all(bug_report(message, place).as_bytes());
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            standard(info);
        }
    }));
}

/// The note a panic prints: what broke and where, and what to do about it.
fn bug_report(message: Option<&str>, place: Option<(&str, u32)>) -> String {
    let place = place.map_or_else(String::new, |(file, line)| format!(" at {file}:{line}"));
    format!(
        "factotum: internal error: {}{place}\nThis is a bug in factotum, not in your job. Please report it with the command you ran and the output of `factotum --version`.\n",
        message.unwrap_or("(no message)")
    )
}

#[cfg(test)]
mod tests {
    use super::bug_report;

    #[test]
    fn a_panic_asks_for_a_bug_report() {
        assert_eq!(
            bug_report(Some("index out of bounds"), Some(("src/exec/mod.rs", 12))),
            "factotum: internal error: index out of bounds at src/exec/mod.rs:12\nThis is a bug in factotum, not in your job. Please report it with the command you ran and the output of `factotum --version`.\n"
        );
        assert!(bug_report(None, None).starts_with("factotum: internal error: (no message)\n"));
    }
}
