//! "Did you mean …?": the closest known name to a misspelt one.

/// The candidate closest to `wanted` by edit distance, ignoring case, if it is close enough to
/// be a plausible typo (at most a third of the word's length, and at least one edit). Ties go to
/// the earliest candidate.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let wanted_chars: Vec<char> = wanted_lower.chars().collect();
    let limit = (wanted_chars.len() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let lower = candidate.to_lowercase();
        let chars: Vec<char> = lower.chars().collect();
        if chars.len().abs_diff(wanted_chars.len()) > limit || candidate == wanted {
            continue;
        }
        let distance = edit_distance(&wanted_chars, &chars);
        if distance <= limit && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance with one row of memory.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_case_and_typo_neighbours() {
        let keys = [
            "name",
            "executor",
            "command",
            "arguments",
            "dependsOn",
            "onResult",
        ];
        assert_eq!(closest("dependson", keys), Some("dependsOn"));
        assert_eq!(closest("argument", keys), Some("arguments"));
        assert_eq!(closest("comand", keys), Some("command"));
        assert_eq!(closest("retries", keys), None);
        assert_eq!(closest("x", ["y"]), Some("y"));
        assert_eq!(closest("ab", ["xyz"]), None);
    }
}
