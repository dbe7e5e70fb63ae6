//! The one error type of elegy: every way a user's input can be wrong is a variant here.

/// What went wrong, with the operation, the shapes or values involved, and what to do.
///
/// `Debug` prints the message too, then any causes it does not already end with, as `anyhow`
/// does, so that `fn main() -> elegy::Result<()>` shows the sentence when `?` returns an error:
///
/// ```text
/// Error: data/x.npy: No such file or directory (os error 2)
/// ```
///
/// `{:#?}` prints the variant and its fields instead, for a test that needs to know which.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Shapes that an operation cannot combine, e.g. a matmul whose inner dimensions differ.
    #[error("{op}: {message}")]
    Shape {
        /// The operation that rejected the shapes.
        op: &'static str,
        /// The shapes involved and how to fix them.
        message: String,
    },
    /// An argument outside what an operation accepts (an axis out of range, a negative rate, ...).
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The operation that rejected the argument.
        op: &'static str,
        /// The value involved and what is accepted instead.
        message: String,
    },
    /// A value of one sample that an operation cannot use, such as a class label that is no
    /// class. `sample` counts in what the operation was given (a batch) until a loop names the
    /// sample of the data itself, there and in `place` (`" of x (fit, epoch 2, batch 38)"`).
    #[error("{op}: {value} of sample {sample}{place} {problem}")]
    Sample {
        /// The operation that rejected the value.
        op: &'static str,
        /// The value (`"label 14"`).
        value: String,
        /// The sample's index: in the operation's input, or in the data once `place` says so.
        sample: usize,
        /// Where the sample is, when a loop has said so (starting with `" of "`), or empty.
        place: String,
        /// What is wrong with the value and what is accepted (`"is not below the 10 classes
        /// the predictions have"`).
        problem: String,
    },
    /// Gradients were asked to flow through an operation that has no backward rule.
    #[error(
        "backward: `{op}` has no gradient; detach its input with `.detach()` if no gradient should flow through it"
    )]
    BackwardNotSupported {
        /// The operation without a backward rule.
        op: &'static str,
    },
    /// A named entry (parameter, metric, log) that was asked for but does not exist.
    #[error("{what} `{name}` not found{hint}")]
    NotFound {
        /// What kind of entry was looked up ("parameter", "metric", ...).
        what: &'static str,
        /// The name that was asked for.
        name: String,
        /// Extra guidance, starting with "; " when present.
        hint: String,
    },
    /// A model's own step refused what it was given: the error for a user's step to return
    /// when no other variant fits (the library's steps use the variants below).
    #[error("{0}")]
    Step(String),
    /// A default step needs a part of the runner it was not given (a loss, an optimizer, a
    /// module): configure the runner with it, or override the step.
    #[error("{step}: {message}")]
    MissingComponent {
        /// The step that needed it (`test_step`, ...).
        step: &'static str,
        /// What is missing: `"loss"`, `"optimizer"` or `"module"`.
        component: &'static str,
        /// What is missing and how to give it.
        message: String,
    },
    /// A step input, a loss or a metric needs an input that this call did not give (targets,
    /// most often): pass it to the loop, or declare the parameter as an `Option`.
    #[error("{message}")]
    MissingInput {
        /// The input that is missing (`y_true`, ...).
        input: &'static str,
        /// Who needs it and what to do.
        message: String,
    },
    /// An operation that needs the model's states ran before `init` (or `fit`) made them.
    #[error("{op}: the model is not initialized; {hint}")]
    NotInitialized {
        /// The operation that was called.
        op: String,
        /// What to do (`call `init` or `fit` first`, most often).
        hint: String,
    },
    /// A training step failed without handing its states back (a step of the model's own that
    /// returned an error without them, or a step that panicked): the runner has no model left
    /// and refuses every call until it gets one again (`load`, `restore`, `set_states` or
    /// `reset`).
    #[error(
        "{op}: training step {step} failed, and the states it was given are gone with it; the runner refuses every call until it has states again (`load` a checkpoint, `restore`, `set_states`, or `reset` then `init`){}",
        cause_suffix(source.as_deref())
    )]
    StatesLost {
        /// The call that found it so (or that lost them).
        op: String,
        /// The number of the training step that lost them (1 for the first).
        step: u64,
        /// The step's own error, when it returned one (none after a panic).
        #[source]
        source: Option<Box<Error>>,
    },
    /// A step that failed before changing anything, with the states it was given, to go on
    /// from (see [`Error::with_states`]). Displayed as the step's own error.
    #[error(transparent)]
    Unspent(Box<UnspentStates>),
    /// Data handed to a loop or a loader that it cannot use (empty, mismatched lengths, NaN, ...).
    #[error("{0}")]
    Data(String),
    /// Training met a loss that is NaN or infinite and was asked to fail on it
    /// ([`TerminateOnNaN::raise_error`](crate::callbacks::TerminateOnNaN::raise_error)). The
    /// runner keeps the states after that batch's update (which may hold NaN).
    #[error(
        "TerminateOnNaN: the loss was {loss} after batch {} of epoch {} (counting from 1, as the progress bar does); training stopped there. Lower the learning rate, clip the gradients (`clip_global_norm`), or look for extreme values in the data; the runner holds the states after that batch, so load a checkpoint to go on",
        batch + 1,
        epoch + 1
    )]
    NonFiniteLoss {
        /// The epoch of the batch (counting from 0, as the hooks do).
        epoch: usize,
        /// The batch within its epoch (counting from 0).
        batch: usize,
        /// The epoch's running loss after that batch.
        loss: f32,
    },
    /// Data-parallel training stopped because a rank failed (its own error is the one it
    /// returned; the others get this), or the ranks disagree on something they must share.
    #[error("data-parallel rank {rank}: {message}")]
    Distributed {
        /// The rank that failed or disagrees.
        rank: usize,
        /// What happened there, and what to do.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A saved file whose contents cannot be used (truncated, corrupted, from another model).
    #[error("{path}: {message}")]
    Format {
        /// The file involved.
        path: std::path::PathBuf,
        /// What is wrong in it.
        message: String,
    },
}

/// The error of a step that changed nothing, and the states it was given: what the runner goes
/// on from.
#[derive(Debug)]
pub struct UnspentStates {
    /// What went wrong.
    pub error: Error,
    /// The states the failing step was given, unchanged.
    pub states: crate::step::States,
}

impl std::fmt::Display for UnspentStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for UnspentStates {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            return self.fmt_fields(f);
        }
        let message = self.to_string();
        f.write_str(&message)?;
        // Our messages end with their cause already ("path: No such file ..."): a cause is
        // listed only when the message does not say it.
        let mut causes = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            let text = cause.to_string();
            if !message.contains(&text) {
                causes.push(text);
            }
            next = cause.source();
        }
        if causes.is_empty() {
            return Ok(());
        }
        f.write_str("\n\nCaused by:")?;
        for (i, cause) in causes.iter().enumerate() {
            let number = if causes.len() > 1 {
                format!("{i}: ")
            } else {
                String::new()
            };
            // Lines after a cause's first stay under its first character.
            let indent = format!("\n    {}", " ".repeat(number.len()));
            write!(f, "\n    {number}{}", cause.replace('\n', &indent))?;
        }
        Ok(())
    }
}

impl Error {
    /// The variant and its fields, as `#[derive(Debug)]` would print them (`{:#?}`).
    fn fmt_fields(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Shape { op, message } => f
                .debug_struct("Shape")
                .field("op", op)
                .field("message", message)
                .finish(),
            Error::InvalidArgument { op, message } => f
                .debug_struct("InvalidArgument")
                .field("op", op)
                .field("message", message)
                .finish(),
            Error::Sample {
                op,
                value,
                sample,
                place,
                problem,
            } => f
                .debug_struct("Sample")
                .field("op", op)
                .field("value", value)
                .field("sample", sample)
                .field("place", place)
                .field("problem", problem)
                .finish(),
            Error::BackwardNotSupported { op } => f
                .debug_struct("BackwardNotSupported")
                .field("op", op)
                .finish(),
            Error::NotFound { what, name, hint } => f
                .debug_struct("NotFound")
                .field("what", what)
                .field("name", name)
                .field("hint", hint)
                .finish(),
            Error::Step(message) => f.debug_tuple("Step").field(message).finish(),
            Error::MissingComponent {
                step,
                component,
                message,
            } => f
                .debug_struct("MissingComponent")
                .field("step", step)
                .field("component", component)
                .field("message", message)
                .finish(),
            Error::MissingInput { input, message } => f
                .debug_struct("MissingInput")
                .field("input", input)
                .field("message", message)
                .finish(),
            Error::NotInitialized { op, hint } => f
                .debug_struct("NotInitialized")
                .field("op", op)
                .field("hint", hint)
                .finish(),
            Error::StatesLost { op, step, source } => f
                .debug_struct("StatesLost")
                .field("op", op)
                .field("step", step)
                .field("source", source)
                .finish(),
            Error::Unspent(unspent) => f.debug_tuple("Unspent").field(unspent).finish(),
            Error::Data(message) => f.debug_tuple("Data").field(message).finish(),
            Error::NonFiniteLoss { epoch, batch, loss } => f
                .debug_struct("NonFiniteLoss")
                .field("epoch", epoch)
                .field("batch", batch)
                .field("loss", loss)
                .finish(),
            Error::Distributed { rank, message } => f
                .debug_struct("Distributed")
                .field("rank", rank)
                .field("message", message)
                .finish(),
            Error::Io { path, source } => f
                .debug_struct("Io")
                .field("path", path)
                .field("source", source)
                .finish(),
            Error::Format { path, message } => f
                .debug_struct("Format")
                .field("path", path)
                .field("message", message)
                .finish(),
        }
    }
}

/// `": <cause>"` when there is one.
fn cause_suffix(source: Option<&Error>) -> String {
    source.map_or_else(String::new, |e| format!(": {e}"))
}

/// `Result` with elegy's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Shape`] for `op`.
    pub fn shape(op: &'static str, message: impl Into<String>) -> Self {
        Error::Shape {
            op,
            message: message.into(),
        }
    }

    /// An [`Error::InvalidArgument`] for `op`.
    pub fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            message: message.into(),
        }
    }

    /// This error with the states its step was given, handed back: a step that fails before
    /// changing anything returns its states this way, so that whoever called it (the runner, or
    /// an override calling a default step) goes on from them. The default steps do it; a step of
    /// the model's own does it with `return Err(error.with_states(states))`. States already
    /// attached are replaced: the outermost step knows best what it was given.
    ///
    /// ```
    /// use elegy_core::{Error, States};
    /// let error = Error::Step("a batch this model refuses".into()).with_states(States::new(3));
    /// assert_eq!(error.to_string(), "a batch this model refuses");
    /// let (error, states) = error.into_parts();
    /// assert_eq!(states, Some(States::new(3)));
    /// assert!(matches!(error, Error::Step(_)));
    /// ```
    pub fn with_states(self, states: crate::step::States) -> Error {
        let error = self.into_parts().0;
        Error::Unspent(Box::new(UnspentStates { error, states }))
    }

    /// The error itself and the states a step handed back with it, if any.
    pub fn into_parts(self) -> (Error, Option<crate::step::States>) {
        match self {
            Error::Unspent(unspent) => {
                let UnspentStates { error, states } = *unspent;
                (error, Some(states))
            }
            other => (other, None),
        }
    }

    /// The states handed back with this error, if any.
    pub fn states(&self) -> Option<&crate::step::States> {
        match self {
            Error::Unspent(unspent) => Some(&unspent.states),
            _ => None,
        }
    }

    /// An [`Error::Sample`] for the value at flat position `flat` of a tensor of `shape`,
    /// whose samples lie along axis 0.
    pub(crate) fn sample(
        op: &'static str,
        value: impl Into<String>,
        flat: usize,
        shape: &[usize],
        problem: impl Into<String>,
    ) -> Self {
        let per_sample = shape.iter().skip(1).product::<usize>().max(1);
        Error::Sample {
            op,
            value: value.into(),
            sample: flat / per_sample,
            place: String::new(),
            problem: problem.into(),
        }
    }

    /// This error with the sample it names placed in the data: `place(sample)` gives the index
    /// of the operation's sample `sample` in the data and the words that say where (starting
    /// with `" of "`). Errors that name no sample, or name one already placed, stay as they are;
    /// so do the states handed back with it.
    pub(crate) fn placing_sample(self, place: impl FnOnce(usize) -> (usize, String)) -> Self {
        match self {
            Error::Sample {
                op,
                value,
                sample,
                place: unplaced,
                problem,
            } if unplaced.is_empty() => {
                let (sample, place) = place(sample);
                Error::Sample {
                    op,
                    value,
                    sample,
                    place,
                    problem,
                }
            }
            Error::Unspent(unspent) => {
                let UnspentStates { error, states } = *unspent;
                error.placing_sample(place).with_states(states)
            }
            Error::StatesLost {
                op,
                step,
                source: Some(source),
            } => Error::StatesLost {
                op,
                step,
                source: Some(Box::new(source.placing_sample(place))),
            },
            other => other,
        }
    }

    /// A [`Error::MissingComponent`] of `step`.
    pub(crate) fn missing_component(
        step: &'static str,
        component: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Error::MissingComponent {
            step,
            component,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// A cause of a foreign error, with a cause of its own when `inner` is given.
    #[derive(Debug)]
    struct Cause {
        text: &'static str,
        inner: Option<Box<Cause>>,
    }

    impl std::fmt::Display for Cause {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.text)
        }
    }

    impl std::error::Error for Cause {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.inner.as_deref().map(|c| c as _)
        }
    }

    fn cause(text: &'static str, inner: Option<Cause>) -> Cause {
        Cause {
            text,
            inner: inner.map(Box::new),
        }
    }

    /// An I/O error around `outer`: its message is `outer`'s, its source is `outer`'s source.
    fn io_error(outer: Cause) -> Error {
        Error::Io {
            path: "runs/best/weights.safetensors".into(),
            source: std::io::Error::other(outer),
        }
    }

    #[test]
    fn debug_prints_the_message_as_display_does() {
        let error = Error::Format {
            path: "runs/best/manifest.json".into(),
            message: "the manifest names no tensors; save the runner again".into(),
        };
        assert_eq!(
            format!("{error:?}"),
            "runs/best/manifest.json: the manifest names no tensors; save the runner again"
        );
    }

    #[test]
    fn debug_lists_a_cause_the_message_does_not_say() {
        let error = io_error(cause(
            "disk quota exceeded",
            Some(cause("quota of user 1000", None)),
        ));
        assert_eq!(
            format!("{error:?}"),
            "runs/best/weights.safetensors: disk quota exceeded\n\
             \n\
             Caused by:\n    \
             quota of user 1000"
        );
    }

    #[test]
    fn debug_numbers_several_causes_and_indents_their_lines() {
        let deepest = cause("sector 7\nunreadable", None);
        let error = io_error(cause(
            "write failed",
            Some(cause("device error", Some(deepest))),
        ));
        assert_eq!(
            format!("{error:?}"),
            "runs/best/weights.safetensors: write failed\n\
             \n\
             Caused by:\n    \
             0: device error\n    \
             1: sector 7\n       \
             unreadable"
        );
    }

    #[test]
    fn debug_does_not_repeat_a_cause_the_message_ends_with() {
        let error = Error::StatesLost {
            op: "fit".into(),
            step: 3,
            source: Some(Box::new(Error::Step("a batch this model refuses".into()))),
        };
        let debug = format!("{error:?}");
        assert_eq!(debug, error.to_string());
        assert!(debug.ends_with(": a batch this model refuses"), "{debug}");
    }

    #[test]
    fn a_sample_error_counts_samples_along_axis_0_and_can_be_placed_once() {
        // Position 7 of labels [4, 3] (three per sample) is in sample 2.
        let error = Error::sample("loss", "label 9", 7, &[4, 3], "is no class");
        assert_eq!(error.to_string(), "loss: label 9 of sample 2 is no class");
        let placed = error
            .with_states(crate::step::States::new(1))
            .placing_sample(|i| (40 + i, " of x (fit, batch 3)".into()));
        assert_eq!(
            placed.to_string(),
            "loss: label 9 of sample 42 of x (fit, batch 3) is no class"
        );
        assert!(placed.states().is_some(), "the states stay with the error");
        let again = placed.placing_sample(|_| (0, " of y".into()));
        assert!(again.to_string().contains("sample 42 of x"), "{again}");
    }

    #[test]
    fn alternate_debug_names_the_variant_and_its_fields() {
        let error = Error::shape("matmul", "shapes [2, 3] and [4, 5] do not align (3 != 4)");
        assert_eq!(
            format!("{error:#?}"),
            "Shape {\n    \
             op: \"matmul\",\n    \
             message: \"shapes [2, 3] and [4, 5] do not align (3 != 4)\",\n\
             }"
        );
    }
}
