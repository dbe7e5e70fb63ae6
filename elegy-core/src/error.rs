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
    /// A step of a model that was called without being implemented.
    #[error("{0}")]
    Step(String),
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
}
