//! `check --format sarif`: one SARIF 2.1.0 log with one run, its rules taken from the table of
//! codes (`crate::explain`), one result per diagnostic. Columns count characters, which the run
//! declares (`columnKind: unicodeCodePoints`; SARIF's default would be UTF-16 code units).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::diagnostics::{Printable, Report, severity_word};
use crate::diag::{Diagnostic, Label};
use crate::explain::EXPLANATIONS;

/// The log of every report's diagnostics.
pub(super) fn log(reports: &[Report]) -> Value {
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|report| {
            let printable = Printable::new(&report.source);
            report
                .diagnostics
                .iter()
                .map(|diagnostic| result(&printable, diagnostic))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut driver = json!({
        "name": "factotum",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules(),
    });
    if !env!("CARGO_PKG_REPOSITORY").is_empty() {
        driver["informationUri"] = json!(env!("CARGO_PKG_REPOSITORY"));
    }
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// A rule per code, in the table's order, which `ruleIndex` counts in.
fn rules() -> Vec<Value> {
    EXPLANATIONS
        .iter()
        .map(|explanation| {
            json!({
                "id": explanation.code,
                "shortDescription": { "text": explanation.summary },
                "fullDescription": { "text": explanation.meaning },
                "help": {
                    "text": format!(
                        "{} `factotum explain {}` shows a job that gets it.",
                        explanation.fix, explanation.code
                    ),
                },
                "defaultConfiguration": { "level": severity_word(explanation.severity()) },
            })
        })
        .collect()
}

fn result(printable: &Printable<'_>, diagnostic: &Diagnostic) -> Value {
    let code = diagnostic.problem.code();
    let mut message = diagnostic.problem.message();
    for note in &diagnostic.notes {
        message.push('\n');
        message.push_str(note);
    }
    let primary = match &diagnostic.primary {
        Some(label) => location(printable, label),
        None => json!({ "physicalLocation": { "artifactLocation": artifact(printable) } }),
    };
    let mut result = json!({
        "ruleId": code,
        "level": severity_word(diagnostic.severity()),
        "message": { "text": message },
        "locations": [primary],
    });
    if let Some(index) = EXPLANATIONS.iter().position(|e| e.code == code) {
        result["ruleIndex"] = json!(index);
    }
    if !diagnostic.secondary.is_empty() {
        let related: Vec<Value> = diagnostic
            .secondary
            .iter()
            .zip(1..)
            .map(|(label, id)| {
                let mut related = location(printable, label);
                related["id"] = json!(id);
                related
            })
            .collect();
        result["relatedLocations"] = json!(related);
    }
    result
}

/// A label's place and words.
fn location(printable: &Printable<'_>, label: &Label) -> Value {
    let at = printable.position(label.span);
    json!({
        "physicalLocation": {
            "artifactLocation": artifact(printable),
            "region": {
                "startLine": at.line,
                "startColumn": at.column,
                "endLine": at.end_line,
                "endColumn": at.end_column,
            },
        },
        "message": { "text": label.message },
    })
}

/// The file as a relative URI reference: its name as given, percent-encoded.
fn artifact(printable: &Printable<'_>) -> Value {
    let mut uri = String::new();
    for byte in printable.name().bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            let _ = write!(uri, "%{byte:02X}");
        }
    }
    json!({ "uri": uri })
}
