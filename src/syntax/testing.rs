//! Checks shared by the property tests of both front ends: whatever the input, every span a
//! front end hands on must be a slice of the text.

use std::ops::Range;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::diag::Diagnostic;
use crate::ir::Job;

/// A proptest configuration with `cases` cases that writes nothing into the source tree.
pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Whether `range` is a slice of `text`: in order, in bounds, on character boundaries.
pub(crate) fn slices(text: &str, range: &Range<usize>) -> bool {
    range.start <= range.end
        && range.end <= text.len()
        && text.is_char_boundary(range.start)
        && text.is_char_boundary(range.end)
}

/// Every label of every diagnostic (errors and warnings alike) must point into `text`.
pub(crate) fn diagnostics_point_into(
    text: &str,
    diagnostics: &[Diagnostic],
) -> Result<(), TestCaseError> {
    for diagnostic in diagnostics {
        for label in diagnostic.primary.iter().chain(&diagnostic.secondary) {
            let range = label.span.range();
            prop_assert!(
                slices(text, &range),
                "{} ({}) labels {range:?} ({:?}), not a slice of the {}-byte text {text:?}",
                diagnostic.problem.code(),
                diagnostic.problem.message(),
                label.message,
                text.len()
            );
        }
    }
    Ok(())
}

/// Every span the IR keeps must point into `text` too: renderers slice the source with them.
pub(crate) fn job_points_into(text: &str, job: &Job) -> Result<(), TestCaseError> {
    let mut spans = vec![("schema", job.schema.span)];
    for template in job.templates() {
        spans.push(("template", template.span));
        for placeholder in &template.placeholders {
            spans.push(("placeholder", placeholder.span));
            prop_assert!(
                template.span.start <= placeholder.span.start
                    && placeholder.span.end <= template.span.end,
                "placeholder {placeholder:?} lies outside its string {:?}",
                template.span
            );
        }
    }
    spans.extend(job.constraints.iter().map(|c| ("constraint", c.span)));
    for task in &job.tasks {
        spans.push(("executor", task.executor.span));
        for codes in [
            &task.on_result.terminate_job_with_success,
            &task.on_result.continue_job,
        ] {
            spans.push(("code list", codes.span));
            spans.extend(codes.value.iter().map(|code| ("code", code.span)));
        }
    }
    for (what, span) in spans {
        let range = span.range();
        prop_assert!(
            slices(text, &range),
            "the {what} span {range:?} is not a slice of the {}-byte text {text:?}",
            text.len()
        );
    }
    Ok(())
}
