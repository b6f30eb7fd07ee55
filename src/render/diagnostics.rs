//! Diagnostics as text: `human` (codespan-reporting), `short` (one line each), `json`,
//! `github` (workflow commands) and `sarif` (in `render::sarif`); the printing API of every
//! command that reports problems.
//!
//! The only module that knows codespan-reporting. Line and column numbers are computed here,
//! when something is printed, never while parsing: 1-based, and columns count characters
//! (Unicode scalar values) in every format.

use std::fmt::Write as _;
use std::io::{self, Write};

use codespan_reporting::diagnostic::{self as codespan, LabelStyle};
use codespan_reporting::files::{self, Files, SimpleFile};
use codespan_reporting::term::{self, Config, termcolor::WriteColor};
use serde::Serialize;

use super::excerpt::Clipped;
use crate::diag::{Diagnostic, Label, Severity};
use crate::source::Source;
use crate::span::Span;

/// How to print problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source excerpts with labels, as rustc prints.
    Human,
    /// One line per problem: `file:line:col: severity[CODE]: message`.
    Short,
    /// A JSON array of objects, for tools.
    Json,
    /// GitHub Actions workflow commands (`::error file=…::…`), which annotate pull requests.
    Github,
    /// A SARIF 2.1.0 log, for code-scanning services.
    Sarif,
}

/// A checked file: its text (for printing excerpts) and its problems, sorted.
pub struct Report {
    /// The file as read.
    pub source: Source,
    /// Its problems in position order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// How many of its problems have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == severity)
            .count()
    }
}

/// Prints the problems of `reports` in `format`, then flushes `out`.
pub fn print(out: &mut dyn WriteColor, format: Format, reports: &[Report]) -> io::Result<()> {
    match format {
        Format::Human => {
            for report in reports {
                print_human(out, report)?;
            }
        }
        Format::Short => {
            for report in reports {
                let printable = Printable::new(&report.source);
                for diagnostic in &report.diagnostics {
                    printable.short(out, diagnostic)?;
                }
            }
        }
        Format::Json => {
            let printables: Vec<Printable<'_>> = reports
                .iter()
                .map(|report| Printable::new(&report.source))
                .collect();
            let all: Vec<_> = reports
                .iter()
                .zip(&printables)
                .flat_map(|(report, printable)| {
                    report
                        .diagnostics
                        .iter()
                        .map(|diagnostic| printable.json(diagnostic))
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &all)?;
            writeln!(out)?;
        }
        Format::Github => {
            for report in reports {
                let printable = Printable::new(&report.source);
                for diagnostic in &report.diagnostics {
                    printable.github(out, diagnostic)?;
                }
            }
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &super::sarif::log(reports))?;
            writeln!(out)?;
        }
    }
    out.flush()
}

/// Prints one file's diagnostics as codespan-reporting does.
pub fn print_human(out: &mut dyn WriteColor, report: &Report) -> io::Result<()> {
    let printable = Printable::new(&report.source);
    for diagnostic in &report.diagnostics {
        printable.human(out, diagnostic)?;
    }
    Ok(())
}

/// A source prepared for printing: its line index is built once, on first use.
pub struct Printable<'a> {
    file: SimpleFile<&'a str, &'a str>,
}

impl<'a> Printable<'a> {
    /// Indexes the lines of `source`.
    pub fn new(source: &'a Source) -> Self {
        Self {
            file: SimpleFile::new(source.name.as_str(), source.text.as_str()),
        }
    }

    /// The file's name, as given.
    pub fn name(&self) -> &str {
        self.file.name()
    }

    /// Where `span` starts and ends: 1-based lines and columns in characters, the end exclusive.
    pub fn position(&self, span: Span) -> Position {
        let (line, column) = self.location(span.start);
        let (end_line, end_column) = self.location(span.end);
        Position {
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn location(&self, offset: u32) -> (usize, usize) {
        self.file
            .location((), offset as usize)
            .map_or((1, 1), |location| {
                (location.line_number, location.column_number)
            })
    }

    /// Writes `diagnostic` the way rustc does, coloured when `out` supports it.
    pub fn human(&self, out: &mut dyn WriteColor, diagnostic: &Diagnostic) -> io::Result<()> {
        let primary = diagnostic
            .primary
            .iter()
            .map(|label| codespan_label(LabelStyle::Primary, label));
        let secondary = diagnostic
            .secondary
            .iter()
            .map(|label| codespan_label(LabelStyle::Secondary, label));
        let rendered = codespan::Diagnostic::new(match diagnostic.severity() {
            Severity::Error => codespan::Severity::Error,
            Severity::Warning => codespan::Severity::Warning,
        })
        .with_code(diagnostic.problem.code())
        .with_message(match diagnostic.primary {
            Some(_) => diagnostic.problem.message(),
            // Without a label codespan shows no file name, so the message carries it.
            None => format!("{}: {}", self.file.name(), diagnostic.problem.message()),
        })
        .with_labels(primary.chain(secondary).collect())
        .with_notes(diagnostic.notes.clone());
        let ranges: Vec<_> = rendered
            .labels
            .iter()
            .map(|label| label.range.clone())
            .collect();
        let config = Config::default();
        let written = match Clipped::new(&self.file, &ranges) {
            None => term::emit_to_write_style(out, &config, &self.file, &rendered),
            Some(clipped) => {
                let mut rendered = rendered;
                for label in &mut rendered.labels {
                    label.range = clipped.map(&label.range);
                }
                term::emit_to_write_style(out, &config, &clipped, &rendered)
            }
        };
        // An output error keeps its kind, so that callers can tell a reader that has gone.
        written.map_err(|error| match error {
            files::Error::Io(error) => error,
            other => io::Error::other(other),
        })
    }

    /// Writes `path:line:col: severity[CODE]: message`, or `path: …` for file-level problems.
    pub fn short(&self, out: &mut dyn Write, diagnostic: &Diagnostic) -> io::Result<()> {
        let name = self.file.name();
        let severity = severity_word(diagnostic.severity());
        let code = diagnostic.problem.code();
        let message = diagnostic.problem.message();
        match diagnostic.span() {
            Some(span) => {
                let (line, column) = self.location(span.start);
                writeln!(out, "{name}:{line}:{column}: {severity}[{code}]: {message}")
            }
            None => writeln!(out, "{name}: {severity}[{code}]: {message}"),
        }
    }

    /// Writes a GitHub Actions workflow command: `::error file=F,line=L,col=C,endLine=L,
    /// endColumn=C,title=CODE::MESSAGE` (`::warning` for a warning), the notes on lines of
    /// their own in the message. Positions are as in `json` (the end exclusive); a problem with
    /// the file as a whole has none.
    pub fn github(&self, out: &mut dyn Write, diagnostic: &Diagnostic) -> io::Result<()> {
        let mut properties = format!("file={}", github_property(self.file.name()));
        if let Some(span) = diagnostic.span() {
            let at = self.position(span);
            let _ = write!(
                properties,
                ",line={},col={},endLine={},endColumn={}",
                at.line, at.column, at.end_line, at.end_column
            );
        }
        let code = diagnostic.problem.code();
        let mut message = diagnostic.problem.message();
        for note in &diagnostic.notes {
            message.push('\n');
            message.push_str(note);
        }
        writeln!(
            out,
            "::{}{properties},title={code}::{}",
            match diagnostic.severity() {
                Severity::Error => "error ",
                Severity::Warning => "warning ",
            },
            github_data(&message)
        )
    }

    /// The diagnostic as a JSON object for tools.
    pub fn json(&self, diagnostic: &Diagnostic) -> JsonDiagnostic<'_> {
        let position = |label: &Label| self.position(label.span);
        let json_label = |label: &Label, primary: bool| JsonLabel {
            message: label.message.clone(),
            primary,
            position: position(label),
        };
        let at = diagnostic.primary.as_ref().map(position);
        JsonDiagnostic {
            file: self.file.name(),
            severity: severity_word(diagnostic.severity()),
            code: diagnostic.problem.code(),
            message: diagnostic.problem.message(),
            line: at.as_ref().map(|p| p.line),
            column: at.as_ref().map(|p| p.column),
            end_line: at.as_ref().map(|p| p.end_line),
            end_column: at.as_ref().map(|p| p.end_column),
            labels: diagnostic
                .primary
                .iter()
                .map(|label| json_label(label, true))
                .chain(
                    diagnostic
                        .secondary
                        .iter()
                        .map(|label| json_label(label, false)),
                )
                .collect(),
            notes: diagnostic.notes.clone(),
        }
    }
}

/// One diagnostic in `--format json`.
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    file: &'a str,
    severity: &'static str,
    code: &'static str,
    message: String,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    labels: Vec<JsonLabel>,
    notes: Vec<String>,
}

/// A 1-based range of lines and columns (in characters), the end exclusive.
#[derive(Clone, Copy, Serialize)]
pub struct Position {
    /// The first line.
    pub line: usize,
    /// The first character's column.
    pub column: usize,
    /// The last line.
    pub end_line: usize,
    /// The column just after the last character.
    pub end_column: usize,
}

#[derive(Serialize)]
struct JsonLabel {
    message: String,
    primary: bool,
    #[serde(flatten)]
    position: Position,
}

fn codespan_label(style: LabelStyle, label: &Label) -> codespan::Label<()> {
    codespan::Label::new(style, (), label.span.range()).with_message(label.message.clone())
}

/// A workflow command's message, escaped as GitHub's toolkit does (`escapeData`).
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value, escaped as GitHub's toolkit does (`escapeProperty`).
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `error` or `warning`.
pub(crate) fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
