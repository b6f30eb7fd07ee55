//! The `factotum` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    factotum::run(std::env::args_os())
}
