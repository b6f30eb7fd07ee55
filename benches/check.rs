//! Placeholder for the parse benchmark being written on `main`.

fn main() {}
