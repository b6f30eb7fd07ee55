/**
 * @file The factotum job language (`.factotum`), for tree-sitter.
 *
 * The same language as grammar/dsl.pest, which `factotum` itself runs (see docs/dsl.md); a test
 * in src/syntax/statement.rs checks that both name exactly the same keywords. Every string that
 * is a whole lower-case word below is a keyword.
 */

/// One or more `rule`, separated by commas.
const commaSeparated = rule => seq(rule, repeat(seq(',', rule)));

module.exports = grammar({
  name: 'factotum',

  // Spaces, tabs and line breaks separate tokens and mean nothing else, as do comments.
  extras: $ => [/[ \t\r\n]/, $.comment],

  // A keyword is a whole word: `tasks` is not `task` followed by `s`.
  word: $ => $.word,

  rules: {
    // A file is a list of items in any order.
    source_file: $ => repeat(choice($.job, $.schema, $.constraint, $.timeout, $.pool, $.task)),

    job: $ => seq('job', field('name', $.string)),

    schema: $ => seq('schema', field('uri', $.string)),

    // `constraint "host,etl-1"`, or `constraint none`.
    constraint: $ => seq('constraint', choice(field('value', $.string), 'none')),

    // The longest the whole run may take: `timeout 2h`.
    timeout: $ => seq('timeout', field('duration', $.duration)),

    // `pool "warehouse" size 2`: at most 2 tasks of the pool run at once.
    pool: $ => seq('pool', field('name', $.string), 'size', field('size', $.number)),

    task: $ => seq('task', field('name', $.string), '{', repeat($._statement), '}'),

    // One rule per statement of the table in src/syntax/statement.rs, named KEYWORD_statement.
    _statement: $ => choice(
      $.after_statement,
      $.executor_statement,
      $.run_statement,
      $.continue_statement,
      $.finish_statement,
      $.retry_statement,
      $.timeout_statement,
      $.env_statement,
      $.dir_statement,
      $.pool_statement,
    ),

    after_statement: $ => seq('after', commaSeparated(field('dependency', $.string))),

    executor_statement: $ => seq('executor', field('name', $.string)),

    run_statement: $ => seq(
      'run',
      field('command', $.string),
      optional(seq('with', commaSeparated(field('argument', $.string)))),
    ),

    continue_statement: $ => seq('continue', choice('never', seq('on', commaSeparated($.exit_code)))),

    finish_statement: $ => seq('finish', 'on', commaSeparated($.exit_code)),

    // `retry attempts 3 delay 2s backoff 2 max 1m on 1, 75`: the parts after the attempts are
    // optional, in this order.
    retry_statement: $ => seq(
      'retry',
      'attempts', field('attempts', $.number),
      optional(seq('delay', field('delay', $.duration))),
      optional(seq('backoff', field('backoff', $.number))),
      optional(seq('max', field('max', $.duration))),
      optional(seq('on', commaSeparated($.exit_code))),
    ),

    timeout_statement: $ => seq('timeout', field('duration', $.duration)),

    // `env "NAME" = "value", "OTHER" = "{{ day }}"`
    env_statement: $ => seq('env', commaSeparated($.variable)),

    variable: $ => seq(field('name', $.string), '=', field('value', $.string)),

    dir_statement: $ => seq('dir', field('path', $.string)),

    pool_statement: $ => seq('pool', field('name', $.string)),

    // Seconds, minutes or hours: `30s`, `1.5m`, `2h`; a sign is read too, for `factotum check`
    // to report.
    duration: _ => /-?[0-9]+(\.[0-9]+)?[smh]/,

    // A count or a factor: `3`, `1.5`. Signs are read too, for `factotum check` to report.
    number: _ => /-?[0-9]+(\.[0-9]+)?/,

    // Signs and fractions are read too, so that `-1` and `1.5` are codes (that `factotum check`
    // reports) rather than syntax errors.
    exit_code: _ => /-?[0-9]+(\.[0-9]+)?/,

    // A string on one line, with escapes and `{{ placeholders }}`.
    string: $ => seq(
      '"',
      repeat(choice($.string_content, $.escape_sequence, $.invalid_escape, $.placeholder)),
      token.immediate('"'),
    ),

    // Text up to the next quote, backslash, line break or brace; a brace that does not open a
    // placeholder is text too.
    string_content: _ => token.immediate(/[^"\\\n{]+|\{[^"\\\n{]*/),

    escape_sequence: _ => token.immediate(prec(1, /\\(["\\nrt]|u\{[0-9A-Fa-f]{1,6}\})/)),

    // Any other backslash pair: `factotum check` reports it (E601).
    invalid_escape: _ => token.immediate(/\\[^\n]/),

    // `{{ day }}`, `{{ a.b }}`, `{{{ raw }}}`, `{{& raw }}`, `{{ day | shell }}`.
    placeholder: _ => token.immediate(/\{\{[^}"\\\n]*\}\}\}?/),

    comment: _ => token(seq('#', /[^\n]*/)),

    // A run of word characters where a keyword may stand; no other word is valid there.
    word: _ => /[A-Za-z0-9_-]+/,
  },
});
