//! The one table of step kinds: which context each step method receives and the inputs it offers.
//! Checks, messages, generated code, the docs of `#[step]` and the tests all read from here.

/// A step method of `elegy::Model` and what it can ask for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StepKind {
    /// The method name, e.g. `pred_step`.
    pub name: &'static str,
    /// The context struct in `elegy::step` that the trait method takes.
    pub context: &'static str,
    /// The `Ok` type of the trait method's `elegy::Result`, as a full path.
    pub output: &'static str,
    /// The inputs a parameter can ask for: the fields of the context, in its order, then
    /// [`WHOLE_CONTEXT`].
    pub inputs: &'static [&'static str],
}

/// The input that receives the whole context (to pass on to another step or a default body),
/// beside any of its fields but `states`, which it holds.
pub(crate) const WHOLE_CONTEXT: &str = "ctx";

/// The inputs of `test_step`, `grad_step` and `train_step`: everything.
const BATCH_INPUTS: &[&str] = &[
    "x",
    "y_true",
    "sample_weight",
    "class_weight",
    "states",
    "components",
    "initializing",
    "training",
    WHOLE_CONTEXT,
];

/// Every step, in the order the docs and messages list them.
pub(crate) const STEPS: &[StepKind] = &[
    StepKind {
        name: "init_step",
        context: "InitContext",
        output: "::elegy::step::States",
        inputs: &[
            "x",
            "y_true",
            "sample_weight",
            "class_weight",
            "states",
            "components",
            "training",
            WHOLE_CONTEXT,
        ],
    },
    StepKind {
        name: "pred_step",
        context: "PredContext",
        output: "::elegy::step::PredStep",
        inputs: &[
            "x",
            "states",
            "components",
            "initializing",
            "training",
            WHOLE_CONTEXT,
        ],
    },
    StepKind {
        name: "test_step",
        context: "StepContext",
        output: "::elegy::step::TestStep",
        inputs: BATCH_INPUTS,
    },
    StepKind {
        name: "grad_step",
        context: "StepContext",
        output: "::elegy::step::GradStep",
        inputs: BATCH_INPUTS,
    },
    StepKind {
        name: "train_step",
        context: "StepContext",
        output: "::elegy::step::TrainStep",
        inputs: BATCH_INPUTS,
    },
    StepKind {
        name: "summary_step",
        context: "SummaryContext",
        output: "::std::vec::Vec<::elegy::step::SummaryRow>",
        inputs: &["x", "states", "components", WHOLE_CONTEXT],
    },
];

/// The step called `name`, if there is one.
pub(crate) fn find(name: &str) -> Option<&'static StepKind> {
    STEPS.iter().find(|step| step.name == name)
}

/// The names of the steps that offer `input`, in table order (empty for an unknown input).
pub(crate) fn steps_offering(input: &str) -> Vec<&'static str> {
    STEPS
        .iter()
        .filter(|step| step.offers(input))
        .map(|step| step.name)
        .collect()
}

impl StepKind {
    /// Whether a parameter of this step may ask for `input`.
    pub(crate) fn offers(&self, input: &str) -> bool {
        self.inputs.contains(&input)
    }

    /// The inputs that are fields of the context (all but [`WHOLE_CONTEXT`]).
    #[cfg(test)]
    pub(crate) fn context_fields(&self) -> &'static [&'static str] {
        match self.inputs.split_last() {
            Some((&WHOLE_CONTEXT, fields)) => fields,
            _ => self.inputs,
        }
    }

    /// The entry of `self.inputs` equal to `input`, with the table's `'static` lifetime.
    pub(crate) fn input(&self, input: &str) -> Option<&'static str> {
        self.inputs.iter().copied().find(|name| *name == input)
    }
}

/// The step names, in table order.
pub(crate) fn step_names() -> impl Iterator<Item = &'static str> {
    STEPS.iter().map(|step| step.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_are_the_six_model_methods_in_chain_order() {
        let names: Vec<_> = step_names().collect();
        assert_eq!(
            names,
            [
                "init_step",
                "pred_step",
                "test_step",
                "grad_step",
                "train_step",
                "summary_step"
            ]
        );
    }

    #[test]
    fn each_step_offers_the_fields_of_its_context() {
        let offered: Vec<_> = STEPS
            .iter()
            .map(|s| (s.context, s.context_fields()))
            .collect();
        let everything: &[&str] = &BATCH_INPUTS[..BATCH_INPUTS.len() - 1];
        assert_eq!(
            offered,
            [
                (
                    "InitContext",
                    &[
                        "x",
                        "y_true",
                        "sample_weight",
                        "class_weight",
                        "states",
                        "components",
                        "training"
                    ][..]
                ),
                (
                    "PredContext",
                    &["x", "states", "components", "initializing", "training"][..]
                ),
                ("StepContext", everything),
                ("StepContext", everything),
                ("StepContext", everything),
                ("SummaryContext", &["x", "states", "components"][..]),
            ]
        );
    }

    #[test]
    fn every_step_offers_x_and_states() {
        for step in STEPS {
            assert!(step.offers("x") && step.offers("states"), "{}", step.name);
        }
    }

    #[test]
    fn steps_offering_lists_the_steps_that_have_an_input() {
        assert_eq!(
            steps_offering("y_true"),
            ["init_step", "test_step", "grad_step", "train_step"]
        );
        assert_eq!(
            steps_offering("training"),
            [
                "init_step",
                "pred_step",
                "test_step",
                "grad_step",
                "train_step"
            ]
        );
        assert!(steps_offering("stats").is_empty());
    }

    #[test]
    fn find_looks_a_step_up_by_its_exact_name() {
        assert_eq!(find("grad_step").map(|s| s.context), Some("StepContext"));
        assert_eq!(find("Grad_step"), None);
    }

    #[test]
    fn step_names_and_inputs_are_unique() {
        let mut names: Vec<_> = step_names().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), STEPS.len());
        for step in STEPS {
            let mut inputs = step.inputs.to_vec();
            inputs.sort_unstable();
            inputs.dedup();
            assert_eq!(inputs.len(), step.inputs.len(), "{}", step.name);
        }
    }
}
