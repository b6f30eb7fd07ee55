//! The statements a DSL task is made of: the one table that the parsers, the lowering, the
//! syntax-error wording, the printer and the editor-grammar test read.
//!
//! Adding a statement starts here. Every `match` on [`Statement`] is exhaustive, so the compiler
//! points at each place that must learn the new one; the files it cannot point at (the pest
//! grammar, the editor grammars, the docs) are checked against [`Statement::ALL`] by the tests
//! at the end of this file.

use crate::ir::Task;
use crate::syntax::rules::{self, SchemaVersion};

/// Declares [`Statement`] and [`Statement::ALL`] from one list, so that no statement can be
/// missing from `ALL` (an index into `ALL` by `as usize` would then be out of bounds).
macro_rules! statements {
    ($($(#[$doc:meta])* $variant:ident => $keyword:literal since $since:ident;)+) => {
        /// A statement of a task, in the order the canonical form writes them (`as usize` gives
        /// each its position in [`Statement::ALL`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Statement {
            $($(#[$doc])* $variant,)+
        }

        impl Statement {
            /// Every statement, in canonical order.
            pub const ALL: [Self; [$(Self::$variant),+].len()] = [$(Self::$variant),+];

            /// The keyword that starts it.
            pub const fn keyword(self) -> &'static str {
                match self {
                    $(Self::$variant => $keyword,)+
                }
            }

            /// The first factfile schema that can express it.
            pub(crate) const fn since(self) -> SchemaVersion {
                match self {
                    $(Self::$variant => rules::$since,)+
                }
            }
        }
    };
}

statements! {
    /// `after "a", "b"`: the tasks that must succeed first (default: none).
    After => "after" since V1_0_0;
    /// `executor "docker"`: the declared executor (default `shell`).
    Executor => "executor" since V1_0_0;
    /// `run "command" with "arg"`: what the task runs (required).
    Run => "run" since V1_0_0;
    /// `continue on 0, 1`: exit codes that mean success (default: 0).
    Continue => "continue" since V1_0_0;
    /// `finish on 3`: exit codes that end the branch early and successfully (default: none).
    Finish => "finish" since V1_0_0;
    /// `retry attempts 3 delay 2s backoff 2 max 1m on 1`: a failed command is tried again
    /// (default: one attempt).
    Retry => "retry" since V1_1_0;
    /// `timeout 30s`: the longest one attempt may take (default: no limit).
    Timeout => "timeout" since V1_1_0;
    /// `env "NAME" = "value"`: variables added to the command's environment (default: none).
    Env => "env" since V1_1_0;
    /// `dir "path"`: where the command runs (default: the directory factotum was started in).
    Dir => "dir" since V1_1_0;
    /// `pool "name"`: the pool the task counts against (default: none).
    Pool => "pool" since V1_1_0;
}

impl Statement {
    /// Whether `task` says something other than this statement's default, so that the
    /// canonical form writes it (`run`, which has no default, always is). The defaults
    /// themselves are in [`rules`], which both front ends fill in from.
    pub(crate) fn is_written(self, task: &Task) -> bool {
        let on_result = &task.on_result;
        match self {
            Self::After => !task.depends_on.is_empty(),
            Self::Executor => task.executor.value != rules::DEFAULT_EXECUTOR,
            Self::Run => true,
            Self::Continue => {
                let codes = on_result.continue_job.value.iter().map(|code| code.value);
                !codes.eq(rules::DEFAULT_CONTINUE_CODES)
            }
            Self::Finish => !on_result.terminate_job_with_success.value.is_empty(),
            Self::Retry => task.retry.is_some(),
            Self::Timeout => task.timeout.is_some(),
            Self::Env => !task.env.is_empty(),
            Self::Dir => task.working_directory.is_some(),
            Self::Pool => task.pool.is_some(),
        }
    }

    /// The statement that `keyword` starts, if any.
    pub(crate) fn from_keyword(keyword: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|statement| statement.keyword().as_bytes() == keyword)
    }
}

#[cfg(test)]
mod tests {
    //! The files the compiler cannot check name exactly the table's keywords; each failure says
    //! which file to edit.

    use std::collections::BTreeSet;

    use super::Statement;

    /// The keywords that are not task statements: items, and the words inside statements.
    const OTHER_KEYWORDS: [&str; 13] = [
        "job",
        "schema",
        "constraint",
        "none",
        "task",
        "with",
        "on",
        "never",
        "size",
        "attempts",
        "delay",
        "backoff",
        "max",
    ];

    fn read(path: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"))
    }

    /// Every keyword of the language: the table's and the others.
    fn keywords() -> BTreeSet<String> {
        Statement::ALL
            .iter()
            .map(|statement| statement.keyword())
            .chain(OTHER_KEYWORDS)
            .map(str::to_owned)
            .collect()
    }

    /// The lower-case words written between two `quote`s in `text` (`'task'`), wherever they
    /// are; an apostrophe in prose (`job's name`) starts none.
    fn quoted_words(text: &str, quote: char) -> BTreeSet<String> {
        let mut words = BTreeSet::new();
        let mut rest = text;
        while let Some((_, after)) = rest.split_once(quote) {
            rest = after;
            if let Some((word, after_word)) = after.split_once(quote)
                && !word.is_empty()
                && word.chars().all(|c| c.is_ascii_lowercase())
            {
                words.insert(word.to_owned());
                rest = after_word;
            }
        }
        words
    }

    #[test]
    fn positions_follow_the_table() {
        for (position, statement) in Statement::ALL.into_iter().enumerate() {
            assert_eq!(statement as usize, position);
            assert_eq!(
                Statement::from_keyword(statement.keyword().as_bytes()),
                Some(statement)
            );
        }
    }

    #[test]
    fn the_pest_grammar_has_a_rule_for_each_keyword() {
        let grammar = read("grammar/dsl.pest");
        // `kw_x = @{ "x" ~ !word_char }`
        let declared: BTreeSet<String> = grammar
            .lines()
            .filter(|line| line.starts_with("kw_"))
            .filter_map(|line| line.split('"').nth(1).map(str::to_owned))
            .collect();
        assert_eq!(
            declared,
            keywords(),
            "grammar/dsl.pest: add a `kw_` rule for each keyword of src/syntax/statement.rs"
        );
        // `statement = _{ after_line | run_line | … }`
        let alternatives: BTreeSet<String> = grammar
            .lines()
            .find_map(|line| line.strip_prefix("statement = _{"))
            .expect("grammar/dsl.pest has a `statement` rule")
            .split(['|', '}'])
            .map(str::trim)
            .filter(|rule| !rule.is_empty())
            .map(str::to_owned)
            .collect();
        let lines: BTreeSet<String> = Statement::ALL
            .iter()
            .map(|statement| format!("{}_line", statement.keyword()))
            .collect();
        assert_eq!(
            alternatives, lines,
            "grammar/dsl.pest: the `statement` rule must offer one `KEYWORD_line` per statement"
        );
    }

    #[test]
    fn the_vscode_grammar_highlights_each_keyword() {
        let grammar: serde_json::Value =
            serde_json::from_str(&read("editors/vscode/syntaxes/factotum.tmLanguage.json"))
                .expect("the TextMate grammar is JSON");
        // The words between the `\b`s of the `declaration` and `keyword` patterns.
        let highlighted: BTreeSet<String> = ["declaration", "keyword"]
            .iter()
            .filter_map(|rule| grammar["repository"][rule]["match"].as_str())
            .flat_map(|pattern| pattern.split(|c: char| !c.is_ascii_alphanumeric()))
            .filter(|word| !word.is_empty() && *word != "b")
            .map(str::to_owned)
            .collect();
        assert_eq!(
            highlighted,
            keywords(),
            "editors/vscode/syntaxes/factotum.tmLanguage.json: list each keyword in the \
             `declaration` or `keyword` pattern"
        );
    }

    #[test]
    fn the_vim_syntax_highlights_each_keyword() {
        let highlighted: BTreeSet<String> = read("editors/vim/syntax/factotum.vim")
            .lines()
            .filter_map(|line| line.strip_prefix("syntax keyword "))
            .flat_map(|rest| rest.split_whitespace().skip(1))
            .filter(|word| *word != "contained" && !word.chars().all(|c| c.is_ascii_uppercase()))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            highlighted,
            keywords(),
            "editors/vim/syntax/factotum.vim: list each keyword in a `syntax keyword` line"
        );
    }

    #[test]
    fn the_tree_sitter_grammar_has_a_rule_for_each_keyword() {
        let grammar = read("editors/tree-sitter/grammar.js");
        // Every keyword is a string literal that is a whole lower-case word, `'task'`; the
        // others are the names of fields, `field('name', …)`, and of the grammar.
        let without_field_names: String = grammar
            .split("field('")
            .enumerate()
            .map(|(index, part)| match part.split_once('\'') {
                Some((_, after_name)) if index > 0 => after_name,
                _ => part,
            })
            .collect();
        let declared: BTreeSet<String> = quoted_words(&without_field_names, '\'')
            .into_iter()
            .filter(|word| word != "factotum")
            .collect();
        assert_eq!(
            declared,
            keywords(),
            "editors/tree-sitter/grammar.js: write each keyword of src/syntax/statement.rs as a \
             string literal"
        );
        // `_statement: $ => choice($.after_statement, …)`
        let rule = grammar
            .split_once("_statement: $ => choice(")
            .and_then(|(_, rest)| rest.split_once(')'))
            .expect("editors/tree-sitter/grammar.js has a `_statement` rule")
            .0;
        let alternatives: BTreeSet<String> = rule
            .split(',')
            .map(|alternative| alternative.trim().trim_start_matches("$."))
            .filter(|alternative| !alternative.is_empty())
            .map(str::to_owned)
            .collect();
        let statements: BTreeSet<String> = Statement::ALL
            .iter()
            .map(|statement| format!("{}_statement", statement.keyword()))
            .collect();
        assert_eq!(
            alternatives, statements,
            "editors/tree-sitter/grammar.js: the `_statement` rule must offer one \
             `KEYWORD_statement` per statement"
        );
    }

    #[test]
    fn the_tree_sitter_query_highlights_each_keyword() {
        let query = read("editors/tree-sitter/queries/highlights.scm");
        // The quoted words of the `[ "job" … ] @keyword` list.
        let list = query
            .split_once("] @keyword")
            .and_then(|(before, _)| before.rsplit_once('['))
            .expect("editors/tree-sitter/queries/highlights.scm has a `[…] @keyword` list")
            .1;
        let highlighted = quoted_words(list, '"');
        assert_eq!(
            highlighted,
            keywords(),
            "editors/tree-sitter/queries/highlights.scm: list each keyword before `@keyword`"
        );
    }

    #[test]
    fn the_language_guide_describes_each_statement() {
        let guide = read("docs/dsl.md");
        for statement in Statement::ALL {
            let row = format!("| `{} ", statement.keyword());
            assert!(
                guide.contains(&row),
                "docs/dsl.md: describe `{}` in the table of statements",
                statement.keyword()
            );
        }
    }
}
