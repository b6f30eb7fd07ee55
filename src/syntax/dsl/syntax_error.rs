//! Turns a pest failure into a diagnostic in words: "expected a task name in quotes, found `{`".
//!
//! Every rule pest can name as expected is listed in [`describe`]; rule names never reach the
//! user. Common slips (a missing `with`, a missing comma, a trailing comma, a misspelt keyword,
//! single quotes, a string left open) get a hint.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::grammar::Rule;
use crate::diag::{Diagnostic, Problem};
use crate::span::Span;
use crate::suggest;

/// Found strings longer than this are called "a string" rather than quoted whole.
const MAX_QUOTED_FOUND: usize = 40;

/// The diagnostic for `error`, raised while parsing the text from byte `base` of `text`.
pub(super) fn diagnostic(error: &Error<Rule>, text: &str, base: usize) -> Diagnostic {
    let relative = match error.location {
        InputLocation::Pos(position) | InputLocation::Span((position, _)) => position,
    };
    let position = base + relative;
    let positives: &[Rule] = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { .. } => &[],
    };
    let found = Found::at(text, position);
    if let Found::Str { closed: false, .. } = found {
        return unclosed_string(text, position);
    }
    // What would continue the current statement first, the end of the file last; otherwise in
    // the order pest tried them, which is the grammar's.
    let mut ranked = positives.to_vec();
    ranked.sort_by_key(|rule| match rule {
        Rule::kw_with | Rule::comma => 0,
        Rule::EOI => 2,
        _ => 1,
    });
    let mut words: Vec<&'static str> = Vec::new();
    for rule in ranked {
        let word = describe(rule);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    let expected = match words.as_slice() {
        [] => "a `job` line or a task".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    let diagnostic = Diagnostic::new(Problem::DslSyntax {
        expected,
        found: found.describe(text, position),
    })
    .at(found.span(text, position), "unexpected here");
    match hint(positives, &found, text, position) {
        Some(hint) => diagnostic.note(hint),
        None => diagnostic,
    }
}

/// The words for what a rule matches.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::kw_job => "`job`",
        Rule::kw_schema => "`schema`",
        Rule::kw_constraint => "`constraint`",
        Rule::kw_task => "`task`",
        Rule::kw_after => "`after`",
        Rule::kw_executor => "`executor`",
        Rule::kw_run => "`run`",
        Rule::kw_with => "`with`",
        Rule::kw_continue => "`continue`",
        Rule::kw_finish => "`finish`",
        Rule::kw_on => "`on`",
        Rule::kw_never => "`never`",
        Rule::kw_none => "`none`",
        Rule::kw_timeout => "`timeout`",
        Rule::kw_pool => "`pool`",
        Rule::kw_size => "`size`",
        Rule::kw_retry => "`retry`",
        Rule::kw_attempts => "`attempts`",
        Rule::kw_delay => "`delay`",
        Rule::kw_backoff => "`backoff`",
        Rule::kw_max => "`max`",
        Rule::kw_env => "`env`",
        Rule::kw_dir => "`dir`",
        Rule::env_name => "a variable name in quotes",
        Rule::env_value => "a value in quotes",
        Rule::directory => "a directory in quotes",
        Rule::pool_name => "a pool name in quotes",
        Rule::count => "a whole number",
        Rule::factor => "a number",
        Rule::duration => "a duration such as `30s`, `1.5m` or `2h`",
        Rule::equals => "`=`",
        Rule::job_name => "the job's name in quotes",
        Rule::schema_uri => "a schema URI in quotes",
        Rule::constraint_text => "a constraint in quotes",
        Rule::task_name | Rule::dependency => "a task name in quotes",
        Rule::executor_name => "an executor name in quotes",
        Rule::command => "a command in quotes",
        Rule::argument => "an argument in quotes",
        Rule::exit_code => "an exit code",
        Rule::open_brace => "`{`",
        Rule::close_brace => "`}`",
        Rule::comma => "`,`",
        Rule::EOI => "end of file",
        // pest reports the first named token that failed rather than the rules around it, so
        // these are only here to keep the match exhaustive as the grammar grows.
        Rule::item => "a `job` line or a task",
        Rule::job_line => "a `job` line",
        Rule::schema_line => "a `schema` line",
        Rule::constraint_line => "a `constraint` line",
        Rule::job_timeout => "a `timeout` line",
        Rule::pool_declaration => "a `pool` line",
        Rule::task => "a task",
        Rule::statement
        | Rule::after_line
        | Rule::executor_line
        | Rule::run_line
        | Rule::continue_line
        | Rule::finish_line
        | Rule::retry_line
        | Rule::timeout_line
        | Rule::env_line
        | Rule::dir_line
        | Rule::pool_line => "a statement",
        Rule::quoted => "a string",
        Rule::word_char => "a letter",
        Rule::WHITESPACE | Rule::COMMENT => "a space",
    }
}

/// What stands at the error position.
enum Found<'t> {
    /// The end of the text.
    End,
    /// A run of word characters, such as a misspelt keyword.
    Word(&'t str),
    /// A string literal; `closed` when its closing quote is on the same line.
    Str { len: usize, closed: bool },
    /// Any other character.
    Char(char),
}

impl<'t> Found<'t> {
    fn at(text: &'t str, position: usize) -> Self {
        let rest = &text[position..];
        let Some(first) = rest.chars().next() else {
            return Self::End;
        };
        if first == '"' {
            return match closing_quote(rest) {
                Some(len) => Self::Str { len, closed: true },
                None => Self::Str {
                    len: rest.find('\n').unwrap_or(rest.len()),
                    closed: false,
                },
            };
        }
        let word_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if word_len > 0 {
            Self::Word(&rest[..word_len])
        } else {
            Self::Char(first)
        }
    }

    fn describe(&self, text: &str, position: usize) -> String {
        match self {
            Self::End => "end of file".to_owned(),
            Self::Word(word) => format!("`{word}`"),
            Self::Str { len, .. } if *len <= MAX_QUOTED_FOUND => {
                format!("`{}`", &text[position..position + len])
            }
            Self::Str { .. } => "a string".to_owned(),
            Self::Char('\u{feff}') => "a byte order mark (U+FEFF)".to_owned(),
            Self::Char(c) if c.is_control() || c.is_whitespace() => format!("U+{:04X}", *c as u32),
            Self::Char('`') => "a backtick".to_owned(),
            Self::Char(c) => format!("`{c}`"),
        }
    }

    fn span(&self, text: &str, position: usize) -> Span {
        let len = match self {
            Self::End => 0,
            Self::Word(word) => word.len(),
            Self::Str { len, .. } => *len,
            Self::Char(c) => c.len_utf8(),
        };
        debug_assert!(text.is_char_boundary(position + len));
        Span::new(position, position + len)
    }
}

/// The length of the string literal at the start of `rest` (quotes included), if it closes on
/// its line.
fn closing_quote(rest: &str) -> Option<usize> {
    let mut escaped = false;
    for (offset, c) in rest.char_indices().skip(1) {
        match c {
            '\n' => return None,
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(offset + 1),
            _ => {}
        }
    }
    None
}

/// A string whose closing quote is missing from its line.
fn unclosed_string(text: &str, start: usize) -> Diagnostic {
    let rest = &text[start..];
    let (end, found) = match rest.find('\n') {
        Some(line_len) => (start + line_len, "end of line"),
        None => (text.len(), "end of file"),
    };
    // A line ending in CR LF ends at the CR.
    let end = if text[..end].ends_with('\r') {
        end - 1
    } else {
        end
    };
    Diagnostic::new(Problem::DslSyntax {
        expected: "`\"` to close the string".to_owned(),
        found: found.to_owned(),
    })
    .at(Span::new(end, end), format!("the {found}"))
    .also(Span::at(start), "the string starts here")
    .note("hint: a string ends on the line it starts on; write a line break as `\\n`")
}

/// A hint for the slips that are easy to make.
fn hint(positives: &[Rule], found: &Found<'_>, text: &str, position: usize) -> Option<String> {
    let expects = |rule| positives.contains(&rule);
    let before = text[..position].trim_end();
    match found {
        Found::Str { .. } if expects(Rule::kw_with) => Some(
            "hint: arguments follow `with`, separated by commas: `run \"command\" with \"a\", \"b\"`"
                .to_owned(),
        ),
        Found::Str { .. } if expects(Rule::comma) => {
            Some("hint: separate the items of a list with commas".to_owned())
        }
        Found::Char('\'') => Some("hint: strings use double quotes".to_owned()),
        _ if before.ends_with(',')
            && [Rule::dependency, Rule::argument, Rule::exit_code]
                .iter()
                .any(|rule| expects(*rule)) =>
        {
            Some("hint: a list does not end with a comma".to_owned())
        }
        Found::Word(word) => {
            let keywords = positives
                .iter()
                .filter_map(|&rule| describe(rule).strip_prefix('`')?.strip_suffix('`'));
            suggest::closest(word, keywords).map(|keyword| format!("hint: did you mean `{keyword}`?"))
        }
        _ => None,
    }
}
