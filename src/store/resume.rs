//! Placeholder until the resume plan lands (helper branch `resume`).

use super::TaskRecord;
use crate::graph::TaskGraph;

pub(crate) struct ResumePlan {
    pub members: Vec<usize>,
    pub carried: Vec<TaskRecord>,
}

pub(crate) fn plan(
    graph: &TaskGraph,
    _names: &[String],
    _definitions: &[String],
    _previous: &[TaskRecord],
    _previous_run: &str,
) -> ResumePlan {
    ResumePlan {
        members: (0..graph.len()).collect(),
        carried: Vec::new(),
    }
}

pub(crate) fn describe(_plan: &ResumePlan, _names: &[String], _previous_run: &str) -> Vec<String> {
    Vec::new()
}
