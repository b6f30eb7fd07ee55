//! `check`'s diagnostics in the protocol's form: the same code, message and primary range, the
//! other labels as related information, and the notes on lines of their own after the message,
//! worded as `check` prints them.

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range,
};

use super::Document;
use crate::diag::{Diagnostic, Severity};

/// What every diagnostic says it comes from.
pub(crate) const SOURCE: &str = "factotum";

/// Every problem of `document`, in `check`'s order.
pub(crate) fn of(document: &Document) -> Vec<lsp_types::Diagnostic> {
    document
        .compiled
        .diagnostics
        .iter()
        .map(|diagnostic| converted(document, diagnostic))
        .collect()
}

/// One diagnostic; a problem with the file as a whole is put at its start.
pub(crate) fn converted(document: &Document, diagnostic: &Diagnostic) -> lsp_types::Diagnostic {
    let range = diagnostic
        .span()
        .map_or_else(Range::default, |span| document.range(span));
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .secondary
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(document.uri.clone(), document.range(label.span)),
            message: label.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(match diagnostic.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.problem.code().to_owned())),
        source: Some(SOURCE.to_owned()),
        message: message(diagnostic),
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

/// The problem's message, then each note on a line of its own, as `check` words them (a hint
/// starts `hint:`).
fn message(diagnostic: &Diagnostic) -> String {
    let mut text = diagnostic.problem.message();
    for note in &diagnostic.notes {
        text.push('\n');
        text.push_str(note);
    }
    text
}
