//! Changing a job from the editor: completion, rename, formatting and the quick fixes of the
//! "did you mean" diagnostics.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CompletionItem,
    CompletionItemKind, CompletionList, CompletionParams, CompletionResponse, CompletionTextEdit,
    DocumentFormattingParams, PrepareRenameResponse, Range, RenameParams,
    TextDocumentPositionParams, TextEdit, WorkspaceEdit,
};

use super::navigation::name_at;
use super::{Document, diagnostics};
use crate::render;
use crate::span::Span;
use crate::syntax::Format;
use crate::syntax::statement::Statement;

/// The items a DSL file is made of (`item` in `grammar/dsl.pest`), offered where one may start.
const DSL_ITEMS: [&str; 4] = ["job", "schema", "constraint", "task"];

/// `text` as a string literal of the document's syntax.
fn quoted(format: Format, text: &str) -> String {
    match format {
        Format::Dsl => render::dsl::quote(text),
        // Serialising a string cannot fail.
        Format::Json => serde_json::to_string(text).unwrap_or_default(),
    }
}

/// Task names inside a dependency list, keywords where a DSL statement or item may start.
#[allow(clippy::unnecessary_wraps)] // The shape of every request handler.
pub(crate) fn completion(
    document: &Document,
    params: &CompletionParams,
) -> Option<CompletionResponse> {
    let position = params.text_document_position.position;
    let offset = document.offset(position);
    let text = document.text();
    let context = match document.format {
        Format::Dsl => dsl_context(text, offset),
        Format::Json => json_context(text, offset),
    };
    let mut incomplete = false;
    let items: Vec<CompletionItem> = match context {
        Context::Dependency { open_quote } => {
            // Inside a string its content so far is replaced, else a whole literal is inserted.
            let start = open_quote.map_or(offset, |quote| (quote + 1).min(offset));
            let typed = text.get(start..offset).unwrap_or_default();
            let names;
            (names, incomplete) = listed_names(&document.known_names, typed);
            let range = document.range(Span::new(start, offset));
            names
                .into_iter()
                .map(|name| dependency_item(document.format, name, open_quote.is_some(), range))
                .collect()
        }
        Context::Statement => keyword_items(Statement::ALL.iter().map(|s| s.keyword())),
        Context::Item => keyword_items(DSL_ITEMS.into_iter()),
        Context::Nothing => Vec::new(),
    };
    Some(CompletionResponse::List(CompletionList {
        is_incomplete: incomplete,
        items,
    }))
}

/// The most task names one completion lists: a job of 100,000 tasks would otherwise make
/// every answer megabytes long. Past it the list says it is incomplete, and the client asks
/// again as more of the name is typed.
const MOST_NAMES: usize = 1000;

/// The names, sorted and once each, that `typed` could be the start of as a client filters:
/// its characters in order, ignoring case (a superset of both prefix and fuzzy matching); at
/// most [`MOST_NAMES`], and whether some were left out.
fn listed_names<'n>(known: &'n [String], typed: &str) -> (Vec<&'n str>, bool) {
    let could_match = |name: &str| {
        let mut in_name = name.chars().flat_map(char::to_lowercase);
        typed
            .chars()
            .flat_map(char::to_lowercase)
            .all(|wanted| in_name.any(|c| c == wanted))
    };
    let mut names: Vec<&str> = known
        .iter()
        .map(String::as_str)
        .filter(|name| could_match(name))
        .collect();
    names.sort_unstable();
    names.dedup();
    let incomplete = names.len() > MOST_NAMES;
    names.truncate(MOST_NAMES);
    (names, incomplete)
}

/// A task name to insert at `range`: as the rest of the string being typed (`in_string`), or
/// as a whole literal.
fn dependency_item(format: Format, name: &str, in_string: bool, range: Range) -> CompletionItem {
    let literal = quoted(format, name);
    let new_text = match literal
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        // The literal without its quotes: the name escaped as the syntax escapes it.
        Some(escaped) if in_string => escaped.to_owned(),
        _ => literal,
    };
    CompletionItem {
        label: name.to_owned(),
        kind: Some(CompletionItemKind::REFERENCE),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, new_text))),
        ..CompletionItem::default()
    }
}

fn keyword_items<'k>(keywords: impl Iterator<Item = &'k str>) -> Vec<CompletionItem> {
    keywords
        .map(|keyword| CompletionItem {
            label: keyword.to_owned(),
            kind: Some(CompletionItemKind::KEYWORD),
            ..CompletionItem::default()
        })
        .collect()
}

/// What may be written at the cursor.
#[derive(Debug, PartialEq, Eq)]
enum Context {
    /// An entry of a dependency list; `open_quote` is the offset of the quote that starts
    /// the string the cursor is in, if it is in one.
    Dependency {
        open_quote: Option<usize>,
    },
    /// A task statement (inside a DSL task's braces).
    Statement,
    /// A top-level DSL item.
    Item,
    Nothing,
}

/// The last thing read before the cursor in a DSL text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DslToken<'t> {
    Start,
    Word(&'t str),
    String,
    Number,
    Comma,
    Brace,
}

/// Reads the DSL text up to `offset` as tokens (line breaks mean nothing in the DSL) and says
/// what may stand there. Any text is read in one pass: broken text just gives `Nothing`.
fn dsl_context(text: &str, offset: usize) -> Context {
    let bytes = text.as_bytes();
    let mut depth = 0_usize;
    let mut last = DslToken::Start;
    // The keyword of the statement being read, for its list of strings.
    let mut statement: Option<&str> = None;
    let mut at = 0;
    while at < offset.min(bytes.len()) {
        match bytes[at] {
            b'#' => at = line_end(bytes, at),
            b'"' => {
                let end = string_end(bytes, at, b'\n');
                if offset <= end && offset > at {
                    return match statement {
                        Some("after") => Context::Dependency {
                            open_quote: Some(at),
                        },
                        _ => Context::Nothing,
                    };
                }
                last = DslToken::String;
                at = end + 1;
            }
            b',' => {
                last = DslToken::Comma;
                at += 1;
            }
            b'{' | b'}' => {
                if bytes[at] == b'{' {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
                last = DslToken::Brace;
                statement = None;
                at += 1;
            }
            byte if byte.is_ascii_alphabetic() => {
                let end = word_end(bytes, at);
                if end >= offset {
                    // The cursor ends a word being typed: a keyword, if one may stand here.
                    return keyword_context(last, statement, depth);
                }
                let word = &text[at..end];
                if Statement::from_keyword(word.as_bytes()).is_some() || DSL_ITEMS.contains(&word) {
                    statement = Some(word);
                }
                last = DslToken::Word(word);
                at = end;
            }
            byte if byte.is_ascii_digit() || byte == b'-' => {
                last = DslToken::Number;
                at = word_end(bytes, at + 1);
            }
            _ => at += 1,
        }
    }
    match (statement, last) {
        (Some("after"), DslToken::Word("after") | DslToken::Comma) => {
            Context::Dependency { open_quote: None }
        }
        _ => keyword_context(last, statement, depth),
    }
}

/// A keyword's context when the token before the cursor is `last`: after a finished statement
/// or item (a string, a number, `never`, `none`), or a brace.
fn keyword_context(last: DslToken<'_>, statement: Option<&str>, depth: usize) -> Context {
    let finished = match last {
        DslToken::Start | DslToken::Brace | DslToken::Number => true,
        // `task "name"` still needs its brace.
        DslToken::String => statement != Some("task"),
        DslToken::Word(word) => matches!(word, "never" | "none"),
        DslToken::Comma => false,
    };
    match (finished, depth) {
        (false, _) => Context::Nothing,
        (true, 0) => Context::Item,
        (true, _) => Context::Statement,
    }
}

/// Reads the JSON text up to `offset`, keeping the key each open array or object is the value
/// of, and says whether the cursor is in the `dependsOn` list.
fn json_context(text: &str, offset: usize) -> Context {
    let bytes = text.as_bytes();
    // Open arrays and objects, each with the key it is the value of (or `None`).
    let mut open: Vec<Option<&str>> = Vec::new();
    let mut last_string: Option<&str> = None;
    let mut key: Option<&str> = None;
    let mut at = 0;
    while at < offset.min(bytes.len()) {
        match bytes[at] {
            b'"' => {
                let end = string_end(bytes, at, b'\n');
                if offset <= end && offset > at {
                    return in_dependencies(open.last().copied().flatten(), Some(at));
                }
                last_string = text.get(at + 1..end);
                at = end + 1;
                continue;
            }
            b':' => key = last_string.take(),
            b'[' | b'{' => {
                open.push(key.take());
                last_string = None;
            }
            b']' | b'}' => {
                open.pop();
                key = None;
            }
            b',' => {
                key = None;
                last_string = None;
            }
            _ => {}
        }
        at += 1;
    }
    in_dependencies(open.last().copied().flatten(), None)
}

fn in_dependencies(innermost: Option<&str>, open_quote: Option<usize>) -> Context {
    if innermost == Some("dependsOn") {
        Context::Dependency { open_quote }
    } else {
        Context::Nothing
    }
}

/// The offset of the quote that ends the string starting at `quote`, or of the first
/// `stop` byte (or the end of the text) when it is not closed before.
fn string_end(bytes: &[u8], quote: usize, stop: u8) -> usize {
    let mut at = quote + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at,
            byte if byte == stop => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(bytes.len(), |at| from + at)
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&byte| !(byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.'))
        .map_or(bytes.len(), |at| from + at)
}

/// The name under the cursor, when it names a task: its text between the quotes.
pub(crate) fn prepare_rename(
    document: &Document,
    params: &TextDocumentPositionParams,
) -> Option<PrepareRenameResponse> {
    let name = name_at(document, params.position)?;
    document.compiled.resolved.as_ref()?.task(&name.key)?;
    let span = name.template.span;
    let inside = Span::new(
        span.start as usize + 1,
        (span.end as usize)
            .saturating_sub(1)
            .max(span.start as usize + 1),
    );
    Some(PrepareRenameResponse::RangeWithPlaceholder {
        range: document.range(inside),
        placeholder: name.template.text.to_string(),
    })
}

/// The task under the cursor renamed: its definition and every reference, each written as a
/// string literal of the document's syntax.
pub(crate) fn rename(document: &Document, params: &RenameParams) -> Option<WorkspaceEdit> {
    let name = name_at(document, params.text_document_position.position)?;
    let resolved = document.compiled.resolved.as_ref()?;
    let definition = resolved.definition(&name.key)?;
    let literal = quoted(document.format, &params.new_name);
    let edits = std::iter::once(definition)
        .chain(resolved.references(&name.key))
        .map(|span| TextEdit::new(document.range(span), literal.clone()))
        .collect();
    Some(WorkspaceEdit::new(HashMap::from([(
        document.uri.clone(),
        edits,
    )])))
}

/// A DSL document in its canonical form, as `fmt` writes it: no edit when it already is, and
/// none either (a `null` answer) for JSON or for a document `fmt` refuses, one whose syntax
/// errors mean the job would not say what the text says.
pub(crate) fn formatting(
    document: &Document,
    _: &DocumentFormattingParams,
) -> Option<Vec<TextEdit>> {
    if document.format != Format::Dsl {
        return None;
    }
    let compiled = &document.compiled;
    if compiled
        .diagnostics
        .iter()
        .any(|diagnostic| crate::cmd::fmt::changes_the_job(&diagnostic.problem))
    {
        return None;
    }
    let formatted = render::dsl::print(compiled.job.as_ref()?, &compiled.comments);
    if formatted == document.text() {
        return Some(Vec::new());
    }
    let whole = document.range(Span::new(0, document.text().len()));
    Some(vec![TextEdit::new(whole, formatted)])
}

/// For each "did you mean" diagnostic in the range asked about, a preferred quick fix writing
/// the suggestion in place of what is there.
#[allow(clippy::unnecessary_wraps)] // The shape of every request handler.
pub(crate) fn code_actions(
    document: &Document,
    params: &CodeActionParams,
) -> Option<Vec<CodeActionOrCommand>> {
    let asked = document.span(params.range);
    let actions = document
        .compiled
        .diagnostics
        .iter()
        .filter_map(|diagnostic| {
            let suggestion = diagnostic.suggestion.as_deref()?;
            let span = diagnostic.span()?;
            if span.start > asked.end || asked.start > span.end {
                return None;
            }
            let edit = TextEdit::new(document.range(span), quoted(document.format, suggestion));
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Change to `{suggestion}`"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostics::converted(document, diagnostic)]),
                edit: Some(WorkspaceEdit::new(HashMap::from([(
                    document.uri.clone(),
                    vec![edit],
                )]))),
                is_preferred: Some(true),
                ..CodeAction::default()
            }))
        })
        .collect();
    Some(actions)
}

#[cfg(test)]
mod tests {
    use super::{Context, MOST_NAMES, dsl_context, json_context, listed_names};

    #[test]
    fn names_are_those_the_typed_text_could_start_at_most_so_many() {
        let known: Vec<String> = ["Load é", "extract", "load é", "extract"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            listed_names(&known, ""),
            (vec!["Load é", "extract", "load é"], false)
        );
        assert_eq!(
            listed_names(&known, "LDÉ"),
            (vec!["Load é", "load é"], false)
        );
        assert_eq!(listed_names(&known, "xt"), (vec!["extract"], false));
        let many: Vec<String> = (0..=MOST_NAMES).map(|n| format!("t{n:05}")).collect();
        let (listed, incomplete) = listed_names(&many, "t");
        assert!(incomplete);
        assert_eq!(listed.len(), MOST_NAMES);
        assert_eq!(listed_names(&many, "t01000"), (vec!["t01000"], false));
    }

    /// The context at the `|` in `text`.
    fn at_bar(scan: fn(&str, usize) -> Context, text: &str) -> Context {
        let offset = text.find('|').expect("a cursor");
        let text = text.replacen('|', "", 1);
        scan(&text, offset)
    }

    #[test]
    fn dsl_dependencies_are_after_after_and_its_commas() {
        let dependency = |quote| Context::Dependency { open_quote: quote };
        let dsl = |text| at_bar(dsl_context, text);
        assert_eq!(
            dsl("job \"j\"\ntask \"a\" {\n    after |"),
            dependency(None)
        );
        assert_eq!(dsl("task \"a\" { after \"x\", |"), dependency(None));
        let text = "task \"a\" { after \"x\",\n  \"y|";
        assert_eq!(dsl(text), dependency(text.rfind('"')));
        assert_eq!(dsl("task \"a\" { run \"x|"), Context::Nothing);
        assert_eq!(dsl("task \"a\" { after \"x\" |"), Context::Statement);
        assert_eq!(dsl("task \"a\" {\n    ru|"), Context::Statement);
        assert_eq!(dsl("job \"j\"\nta|"), Context::Item);
        assert_eq!(dsl("job \"j\"\ntask \"a\" |"), Context::Nothing);
        assert_eq!(dsl("task \"a\" { # after \"x\",\n |"), Context::Statement);
    }

    #[test]
    fn json_dependencies_are_in_the_depends_on_array() {
        let json = |text| at_bar(json_context, text);
        assert_eq!(
            json(r#"{"tasks": [{"dependsOn": ["a", |"#),
            Context::Dependency { open_quote: None }
        );
        let text = r#"{"tasks": [{"dependsOn": ["a", "b|"]}]}"#;
        let open_quote = text.find("\"b").expect("the string");
        assert_eq!(
            json(text),
            Context::Dependency {
                open_quote: Some(open_quote)
            }
        );
        assert_eq!(
            json(r#"{"tasks": [{"dependsOn": [], "arguments": [|"#),
            Context::Nothing
        );
        assert_eq!(json(r#"{"tasks": [{"name": "|"#), Context::Nothing);
    }
}
