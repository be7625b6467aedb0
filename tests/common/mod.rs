//! Helpers shared by the end-to-end tests of the `quarry` binary (each test file is its own
//! crate and uses what it needs).
#![allow(dead_code)]

use std::process::Command;

/// The binary under test, without environment settings that would change its behaviour.
pub fn quarry() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quarry"));
    c.env_remove("QUARRY_CONFIG")
        .env_remove("QUARRY_LOG")
        .env_remove("ORT_DYLIB_PATH");
    c
}

/// Runs a command that must succeed and print JSON.
pub fn json_ok(cmd: &mut Command, what: &str) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr.
pub fn failure(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).to_string()
}
