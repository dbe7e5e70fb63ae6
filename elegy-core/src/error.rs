//! The one error type of elegy: every way a user's input can be wrong is a variant here.

/// What went wrong, with the operation, the shapes or values involved, and what to do.
#[derive(Debug, thiserror::Error)]
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
