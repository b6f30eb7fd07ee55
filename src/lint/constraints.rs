//! Constraint syntax in the job file: `host,NAME`, `host,IP` or `host,*`. No lookups here.

use crate::constraint::HostConstraint;
use crate::diag::{Diagnostic, Problem};
use crate::ir::Job;

pub(super) fn check(job: &Job, diagnostics: &mut Vec<Diagnostic>) {
    for constraint in &job.constraints {
        if let Err(error) = HostConstraint::parse(&constraint.value) {
            let problem = Problem::BadConstraint {
                detail: error.to_string(),
            };
            diagnostics.push(
                Diagnostic::new(problem)
                    .at(constraint.span, "in this constraint")
                    .note("hint: write `host,NAME`, `host,IP-ADDRESS` or `host,*`"),
            );
        }
    }
}
