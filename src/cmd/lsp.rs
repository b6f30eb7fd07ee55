//! `factotum lsp`: the language server, on standard input and output (`src/lsp/`).

use crate::ExitStatus;

/// Runs `lsp` until the client says `exit`.
pub(crate) fn run() -> ExitStatus {
    crate::lsp::serve()
}
