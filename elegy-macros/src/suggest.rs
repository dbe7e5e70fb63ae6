//! Wording helpers for the errors: "did you mean" and "expected one of".

/// The candidate nearest to `name`, if it is close enough to be a likely typo: at most a third
/// of the name's length in edit distance (counting a swap of neighbours as one edit), as rustc
/// suggests names. Ties go to the earlier candidate.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Names of one or two letters still get one edit, so `X` suggests `x`.
    let budget = name.chars().count().max(3) / 3;
    candidates
        .into_iter()
        .map(|candidate| (strsim::osa_distance(name, candidate), candidate))
        .filter(|&(distance, _)| distance <= budget)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// The names as a list of code spans: "`a`, `b`, `c`".
pub(crate) fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRED_INPUTS: [&str; 4] = ["x", "states", "initializing", "training"];

    #[test]
    fn a_missing_letter_suggests_the_name() {
        assert_eq!(did_you_mean("stats", PRED_INPUTS), Some("states"));
    }

    #[test]
    fn swapped_neighbours_count_as_one_edit() {
        assert_eq!(
            did_you_mean("pred_stpe", ["init_step", "pred_step"]),
            Some("pred_step")
        );
        assert_eq!(did_you_mean("taining", PRED_INPUTS), Some("training"));
    }

    #[test]
    fn a_wrong_case_single_letter_suggests_the_name() {
        assert_eq!(did_you_mean("X", PRED_INPUTS), Some("x"));
    }

    #[test]
    fn nothing_is_suggested_beyond_a_third_of_the_length() {
        // "y_pred" is 6 long: two edits allowed, "states" needs more.
        assert_eq!(did_you_mean("y_pred", PRED_INPUTS), None);
        // "inputs" to "x": far.
        assert_eq!(did_you_mean("inputs", PRED_INPUTS), None);
    }

    #[test]
    fn the_nearest_of_several_close_names_wins() {
        assert_eq!(
            did_you_mean("train_stp", ["test_step", "grad_step", "train_step"]),
            Some("train_step")
        );
    }

    #[test]
    fn ties_go_to_the_first_candidate() {
        assert_eq!(did_you_mean("ab", ["a", "b"]), Some("a"));
    }

    #[test]
    fn one_of_lists_names_as_code() {
        assert_eq!(one_of(["x", "states"]), "`x`, `states`");
    }
}
