; Highlighting for Helix, Zed, Neovim and `tree-sitter highlight`. Each string is captured once,
; by the place it stands in, so that editors that let the first matching pattern win and those
; that let the last win colour it alike.

[
  "job"
  "schema"
  "constraint"
  "task"
  "after"
  "executor"
  "run"
  "with"
  "continue"
  "on"
  "never"
  "finish"
  "none"
  "timeout"
  "pool"
  "size"
  "retry"
  "attempts"
  "delay"
  "backoff"
  "max"
  "env"
  "dir"
] @keyword

(task name: (string) @function)

(job name: (string) @string)
(schema uri: (string) @string)
(constraint value: (string) @string)
(after_statement dependency: (string) @string)
(executor_statement name: (string) @string)
(run_statement command: (string) @string)
(run_statement argument: (string) @string)
(pool name: (string) @string)
(pool_statement name: (string) @string)
(dir_statement path: (string) @string)
(variable name: (string) @variable)
(variable value: (string) @string)

(escape_sequence) @string.escape
(invalid_escape) @error
(placeholder) @string.special

(exit_code) @number
(number) @number
(duration) @number

(comment) @comment

["{" "}"] @punctuation.bracket
"," @punctuation.delimiter
"=" @operator
