//! Error kinds shared by every engine, the owned [`ScriptError`], and the pool's own errors.

use std::fmt;
use std::time::Duration;

/// The coarse kind of a failure, the same for every engine so that tests and tools can compare failures.
///
/// Printed and serialised with the lower-case names given by [`ErrorKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The source does not parse (`syntax`).
    Syntax,
    /// The script threw or raised an error (`exception`); the message is the script's.
    Exception,
    /// A call ran past its time limit (`timeout`).
    Timeout,
    /// A call ran past its memory limit (`memory`).
    Memory,
    /// A call ran past its stack or recursion limit, or the source is nested too deeply (`stack`).
    Stack,
    /// A value could not be converted between the script and the host (`conversion`).
    Conversion,
    /// No instance became free in time (`exhausted`).
    Exhausted,
    /// The pool is closed (`closed`).
    Closed,
    /// Anything else: an engine fault, a panic, a lost instance (`internal`).
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Syntax,
        ErrorKind::Exception,
        ErrorKind::Timeout,
        ErrorKind::Memory,
        ErrorKind::Stack,
        ErrorKind::Conversion,
        ErrorKind::Exhausted,
        ErrorKind::Closed,
        ErrorKind::Internal,
    ];

    /// The kind's lower-case name: `syntax`, `exception`, `timeout`, `memory`, `stack`, `conversion`, `exhausted`,
    /// `closed` or `internal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Exception => "exception",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::Stack => "stack",
            ErrorKind::Conversion => "conversion",
            ErrorKind::Exhausted => "exhausted",
            ErrorKind::Closed => "closed",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether an instance that failed this way is suspect and must not serve another request: it hit a limit
    /// (its heap or stack may be half-updated) or failed inside the engine.
    pub const fn taints_instance(self) -> bool {
        matches!(
            self,
            ErrorKind::Timeout | ErrorKind::Memory | ErrorKind::Stack | ErrorKind::Internal
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An engine's error: owned, thread-safe, and classified by [`ErrorKind`].
pub trait EngineError: std::error::Error + Send + Sync + 'static {
    /// The coarse kind of the failure.
    fn kind(&self) -> ErrorKind;
}

/// An owned script failure: its [`ErrorKind`] and a message naming what went wrong.
///
/// The adapters in this workspace use it as their error type; a custom engine may too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ScriptError {
    kind: ErrorKind,
    message: String,
}

impl ScriptError {
    /// A failure of `kind` described by `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A [`ErrorKind::Timeout`] after `limit`.
    pub fn timeout(limit: Duration) -> Self {
        Self::new(
            ErrorKind::Timeout,
            format!("script ran past the time limit of {limit:?}"),
        )
    }

    /// A [`ErrorKind::Memory`] error: the instance's heap passed `limit_mb`.
    pub fn memory(limit_mb: u64) -> Self {
        Self::new(
            ErrorKind::Memory,
            format!("script ran past the memory limit of {limit_mb} MiB"),
        )
    }

    /// A [`ErrorKind::Stack`] error: the call passed the stack limit of `limit_kb` (or the engine's own depth limit).
    pub fn stack(limit_kb: u64) -> Self {
        Self::new(
            ErrorKind::Stack,
            format!("script ran past the stack limit of {limit_kb} KiB"),
        )
    }

    /// The kind of the failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl EngineError for ScriptError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// A failure to hand out an instance.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// Every instance stayed in use for the whole wait. The text contains `VM pool exhausted`, as in the guide.
    #[error(
        "VM pool exhausted: all {max_size} VMs in use after waiting {waited:?} (raise vm_pool.max_size or vm_pool.acquire_timeout, or look for VMs that are not released)"
    )]
    Exhausted {
        /// The pool's `max_size` at the time.
        max_size: usize,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The pool was closed before or while waiting.
    #[error("VM pool closed: no VMs are handed out after close()")]
    Closed,
    /// The engine failed to create an instance.
    #[error("VM pool could not create a VM: {0}")]
    Create(#[source] E),
    /// The engine panicked while creating an instance.
    #[error("VM pool could not create a VM: the engine panicked: {0}")]
    CreatePanicked(String),
}

impl<E: EngineError> PoolError<E> {
    /// The coarse kind: `exhausted`, `closed`, the engine's kind for a creation failure, `internal` for a panic.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PoolError::Exhausted { .. } => ErrorKind::Exhausted,
            PoolError::Closed => ErrorKind::Closed,
            PoolError::Create(e) => e.kind(),
            PoolError::CreatePanicked(_) => ErrorKind::Internal,
        }
    }
}

/// A reload that was refused: the pool keeps serving its current generation, unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError<E> {
    /// The new engine could not create an instance (a prelude that does not parse, throws or runs too long).
    #[error(
        "VM pool reload refused, the current version keeps serving: the new engine could not create a VM: {0}"
    )]
    Create(#[source] E),
    /// The new engine's test instance failed the check given to
    /// [`Pool::reload_with`](crate::Pool::reload_with), or its reset after the check.
    #[error(
        "VM pool reload refused, the current version keeps serving: the new version failed its check: {0}"
    )]
    Rejected(#[source] E),
    /// The new engine panicked while creating or checking an instance.
    #[error(
        "VM pool reload refused, the current version keeps serving: the new engine panicked: {0}"
    )]
    CreatePanicked(String),
    /// The pool is closed.
    #[error("VM pool closed: a closed pool cannot be reloaded")]
    Closed,
}

impl<E: EngineError> ReloadError<E> {
    /// The coarse kind: the engine's kind for a creation failure, `internal` for a panic, `closed`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReloadError::Create(e) | ReloadError::Rejected(e) => e.kind(),
            ReloadError::CreatePanicked(_) => ErrorKind::Internal,
            ReloadError::Closed => ErrorKind::Closed,
        }
    }
}

/// The message of a panic payload, for error messages.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// A pool failure as a [`ScriptError`] of the same kind, so that [`Pool::with`](crate::Pool::with) closures can
/// return `ScriptError` and acquire failures still come out typed.
impl<E: EngineError> From<PoolError<E>> for ScriptError {
    fn from(error: PoolError<E>) -> Self {
        ScriptError::new(error.kind(), error.to_string())
    }
}

/// A configuration rejected by an engine adapter's constructor, as an `internal` [`ScriptError`] whose message
/// names the key.
impl From<crate::config::ConfigError> for ScriptError {
    fn from(error: crate::config::ConfigError) -> Self {
        ScriptError::new(ErrorKind::Internal, error.to_string())
    }
}
