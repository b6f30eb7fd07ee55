//! Finding one's way in a job: go to a task's definition, find its references, the outline
//! (the job and its tasks) and what hovering over a task name shows.
//!
//! Names are matched only through the linter's [`Resolved`](crate::Resolved) index, by the
//! linter's own key, so an editor finds exactly the references `check` and `run` see.

use std::borrow::Cow;
use std::fmt::Write as _;

use lsp_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    GotoDefinitionResponse, Hover, HoverContents, HoverParams, Location, MarkupContent, MarkupKind,
    Position, ReferenceParams, SymbolKind,
};

use super::Document;
use crate::exec;
use crate::ir::{Job, Task};
use crate::lint::name_key;
use crate::span::Span;
use crate::template::{Template, Variables};

/// A task name written in the document, under the cursor: a task's own name or an entry of a
/// dependency list.
pub(crate) struct NameAt<'d> {
    /// The string as written.
    pub(crate) template: &'d Template,
    /// The name tasks are matched by.
    pub(crate) key: Cow<'d, str>,
}

/// The task name whose string literal holds `position` (its closing quote included, where a
/// cursor stands after typing it).
pub(crate) fn name_at(document: &Document, position: Position) -> Option<NameAt<'_>> {
    let offset = document.offset(position);
    let job = document.compiled.job.as_ref()?;
    let holds = |span: Span| (span.start as usize) <= offset && offset <= span.end as usize;
    job.tasks
        .iter()
        .flat_map(|task| std::iter::once(&task.name).chain(&task.depends_on))
        .find(|template| holds(template.span))
        .map(|template| NameAt {
            template,
            key: name_key(template, None),
        })
}

/// Where the task named under the cursor is defined.
pub(crate) fn definition(
    document: &Document,
    params: &GotoDefinitionParams,
) -> Option<GotoDefinitionResponse> {
    let name = name_at(document, params.text_document_position_params.position)?;
    let span = document.compiled.resolved.as_ref()?.definition(&name.key)?;
    Some(GotoDefinitionResponse::Scalar(location(document, span)))
}

/// Every dependency entry naming the task under the cursor, and its definition when asked.
pub(crate) fn references(document: &Document, params: &ReferenceParams) -> Option<Vec<Location>> {
    let name = name_at(document, params.text_document_position.position)?;
    let resolved = document.compiled.resolved.as_ref()?;
    let definition = resolved
        .definition(&name.key)
        .filter(|_| params.context.include_declaration);
    let spans = definition.into_iter().chain(resolved.references(&name.key));
    Some(spans.map(|span| location(document, span)).collect())
}

fn location(document: &Document, span: Span) -> Location {
    Location::new(document.uri.clone(), document.range(span))
}

/// The outline: the job, with its tasks inside.
pub(crate) fn symbols(
    document: &Document,
    _: &DocumentSymbolParams,
) -> Option<DocumentSymbolResponse> {
    let job = document.compiled.job.as_ref()?;
    let tasks = job
        .tasks
        .iter()
        .map(|task| {
            symbol(
                document,
                &task.name,
                extent(task),
                SymbolKind::FUNCTION,
                None,
            )
        })
        .collect();
    let whole = Span::new(0, document.text().len());
    let job_symbol = symbol(document, &job.name, whole, SymbolKind::MODULE, Some(tasks));
    Some(DocumentSymbolResponse::Nested(vec![job_symbol]))
}

fn symbol(
    document: &Document,
    name: &Template,
    extent: Span,
    kind: SymbolKind,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    // The protocol refuses an empty name; a job whose `job` line is missing has one.
    let shown = if name.text.is_empty() {
        "(unnamed)".to_owned()
    } else {
        name.text.to_string()
    };
    #[allow(deprecated)] // `deprecated` has no default, though `tags` replaces it.
    DocumentSymbol {
        name: shown,
        detail: None,
        kind,
        tags: None,
        deprecated: None,
        range: document.range(extent),
        selection_range: document.range(name.span),
        children,
    }
}

/// From a task's name to the last thing it says: the IR keeps no span of the whole task.
fn extent(task: &Task) -> Span {
    let on_result = &task.on_result;
    let end = task
        .templates()
        .map(|template| template.span)
        .chain([
            task.executor.span,
            on_result.continue_job.span,
            on_result.terminate_job_with_success.span,
        ])
        .map(|span| span.end)
        .max()
        .unwrap_or(task.name.span.end);
    Span::new(task.name.span.start as usize, end as usize)
}

/// On a task name: its command line as `run --dry-run` shows it, what its exit codes mean,
/// what it waits for and what waits for it.
pub(crate) fn hover(document: &Document, params: &HoverParams) -> Option<Hover> {
    let name = name_at(document, params.text_document_position_params.position)?;
    let job = document.compiled.job.as_ref()?;
    let resolved = document.compiled.resolved.as_ref()?;
    let task = resolved.task(&name.key)?;
    let text = described(job, resolved, document, task);
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(document.range(name.template.span)),
    })
}

/// The hover's Markdown for task number `task`. Placeholders stay as written: the editor has
/// no `--env`.
fn described(job: &Job, resolved: &crate::Resolved, document: &Document, task: usize) -> String {
    let directory = crate::cmd::run::job_directory(std::path::Path::new(&document.source.name));
    let prepared = exec::prepare(job, document.format, &Variables::new(), false, &directory);
    let graph = resolved.graph();
    let names = |tasks: &[usize]| -> String {
        if tasks.is_empty() {
            return "nothing".to_owned();
        }
        let names: Vec<String> = tasks
            .iter()
            .filter_map(|&other| prepared.tasks.get(other))
            .map(|other| code_span(&other.name))
            .collect();
        names.join(", ")
    };
    let Some(this) = prepared.tasks.get(task) else {
        return String::new();
    };
    let mut text = format!("**task** {}\n\n", code_span(&this.name));
    let fence = "`".repeat(longest_run(&this.shell_command(), '`').max(2) + 1);
    let _ = write!(text, "{fence}sh\n{}\n{fence}\n\n", this.shell_command());
    let _ = writeln!(
        text,
        "exit codes: {} (any other code fails the task)\n",
        this.exit_codes()
    );
    for option in crate::cmd::run::option_lines(&this.options, &prepared.pools) {
        let _ = writeln!(text, "{option}\n");
    }
    let empty = Vec::new();
    let after = graph.dependencies.get(task).unwrap_or(&empty);
    let below = graph.dependents.get(task).unwrap_or(&empty);
    let _ = writeln!(text, "waits for: {}\n", names(after));
    let _ = write!(text, "waited for by: {}", names(below));
    text
}

/// `text` as Markdown inline code, whatever backticks it holds.
fn code_span(text: &str) -> String {
    let ticks = "`".repeat(longest_run(text, '`') + 1);
    format!("{ticks} {text} {ticks}")
}

/// The length of the longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    text.split(|other| other != c)
        .map(str::len)
        .max()
        .unwrap_or(0)
}
