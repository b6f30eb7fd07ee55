//! The `check` benchmark target declared in Cargo.toml; it measures nothing on this branch yet.

fn main() {}
