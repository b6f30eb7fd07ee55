//! What the README's setup promises: the oldest Rust it names is what the locked dependencies
//! need (CI builds with that toolchain, see `.ci/run`), and Cargo.toml says the same.

use std::process::Command;

use serde_json::Value;

use crate::test::manifest_dir;

/// A `rust-version` as numbers, `1.88` and `1.88.0` alike.
fn version(text: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = text
        .split('.')
        .map(|part| part.parse().unwrap_or_else(|_| panic!("a version: {text}")))
        .collect();
    parts.resize(3, 0);
    parts
}

/// The packages of the lock file that this platform builds, from `cargo metadata` (offline: a
/// build has already fetched them all).
fn locked_packages() -> Vec<Value> {
    let rustc = Command::new("rustc").arg("-vV").output().expect("rustc");
    let host = String::from_utf8(rustc.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let metadata = Command::new(env!("CARGO"))
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .args(["--filter-platform", &host])
        .current_dir(manifest_dir())
        .output()
        .expect("cargo metadata");
    assert!(
        metadata.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&metadata.stderr)
    );
    let metadata: Value = serde_json::from_slice(&metadata.stdout).unwrap();
    metadata["packages"].as_array().unwrap().clone()
}

#[test]
fn rust_version_is_what_the_locked_dependencies_need() {
    let packages = locked_packages();
    let dependencies: Vec<&Value> = packages
        .iter()
        .filter(|package| package["name"] != "factotum")
        .collect();
    assert!(dependencies.len() > 100, "{} packages", dependencies.len());
    let (needed, needing) = dependencies
        .iter()
        .filter_map(|package| {
            let rust_version = package["rust_version"].as_str()?;
            Some((version(rust_version), package["id"].as_str().unwrap()))
        })
        .max()
        .expect("some dependency names a rust-version");
    assert_eq!(
        version(env!("CARGO_PKG_RUST_VERSION")),
        needed,
        "Cargo.toml's rust-version is not what {needing} needs, the newest any locked dependency needs"
    );
}

#[test]
fn the_readme_names_cargo_tomls_rust_version() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    let wanted = env!("CARGO_PKG_RUST_VERSION");
    for promise in [
        format!("a Rust toolchain ({wanted} or newer)"),
        format!("Rust {wanted} is the oldest toolchain"),
        format!("Rust toolchain ({wanted} or newer) or, when there is none"),
    ] {
        assert!(
            readme.contains(&promise),
            "the README does not say \"{promise}\""
        );
    }
    let mentions = readme.matches(" or newer)").count();
    assert_eq!(
        mentions, 2,
        "every \"or newer\" of the README is checked above"
    );
}
