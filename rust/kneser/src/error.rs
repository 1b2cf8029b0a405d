//! The one error type of the core.
//!
//! Every variant says what happened and, where a user can act, what to try next. The Python
//! bindings map each variant onto a class of the `kneser.KneserError` hierarchy (see
//! `rust/kneser-py/src/errors.rs`); keep the two in step when a variant is added.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input a problem was found: a file (or `<stdin>`, `<iterable>`) and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as the user gave it, or a pseudo name such as `<stdin>`.
    pub source: String,
    /// 1-based line number; 0 when the problem is not tied to one line.
    pub line: u64,
}

impl Location {
    /// A location at `line` (1-based) of `source`.
    pub fn new(source: impl Into<String>, line: u64) -> Self {
        Location {
            source: source.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.source)
        } else {
            write!(f, "{}:{}", self.source, self.line)
        }
    }
}

/// Everything that can go wrong in kneser.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error while reading or writing `path` (permissions, a full disk, ...).
    /// Fix: check that the path exists, is writable and that the disk has room.
    #[error("{action} {path}: {source}")]
    Io {
        /// What kneser was doing ("cannot read", "cannot write", "cannot create temp file in").
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A path the user named does not exist. Fix: check the spelling or create it first.
    #[error("no such file or directory: {path}")]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },

    /// Input that is not valid UTF-8 where text is required.
    /// Fix: re-encode the file as UTF-8, or ask for invalid bytes to be replaced.
    #[error("{at}: invalid UTF-8 at byte {byte_offset} of the line; re-encode the input as UTF-8 or enable replacement of invalid bytes")]
    InvalidUtf8 {
        /// File and line.
        at: Location,
        /// Offset of the first bad byte within the line.
        byte_offset: usize,
    },

    /// A file that does not follow its format (a corrupt ARPA, a foreign or truncated binary
    /// model, a malformed vocabulary or counts file). `at.line` is the line, or for binary files
    /// 0 with the byte offset given in the message.
    #[error("{at}: {message}")]
    Format {
        /// File and line.
        at: Location,
        /// What was expected and what was found.
        message: String,
    },

    /// `<s>`, `</s>` or `<unk>` found in the training text, where lmplz forbids them.
    /// Fix: remove them, or pass skip-symbols to treat them as whitespace.
    #[error("{at}: special word {word} is not allowed in the corpus; pass --skip_symbols (skip_symbols=True) to treat <s>, </s> and <unk> as whitespace")]
    SpecialInCorpus {
        /// File and line.
        at: Location,
        /// The special word found.
        word: String,
    },

    /// Modified Kneser-Ney discounts cannot be estimated for an order (a count-of-counts is zero
    /// or a discount falls outside its range). Fix: more (or deduplicated) data, or a discount
    /// fallback.
    #[error("could not calculate Kneser-Ney discounts for {order}-grams with adjusted count {count} because {reason}; is this small or artificial data? Try deduplicating the input. To override this error, e.g. for a class-based model, rerun with --discount_fallback (discount_fallback=[0.5, 1, 1.5])")]
    Discount {
        /// The n-gram order (1-based).
        order: usize,
        /// The adjusted count (1, 2 or 3 for D3+) whose discount failed.
        count: usize,
        /// What was observed.
        reason: String,
    },

    /// An option or argument that is out of range or inconsistent. The message says which and
    /// what is allowed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The memory budget is too small for the job. Fix: raise it to at least `minimum` bytes.
    #[error("memory budget of {budget} bytes is too small: this job needs at least {minimum} bytes; raise --memory")]
    MemoryBudget {
        /// The budget given.
        budget: u64,
        /// The smallest budget that can work.
        minimum: u64,
    },

    /// The system refused memory that the job asked for (a `-S` budget larger than the machine
    /// or `ulimit -v` allows). Nothing is left behind: temp files and partial outputs are
    /// removed. Fix: a smaller `--memory`.
    #[error("out of memory: cannot allocate {bytes} bytes for {what}; give a smaller --memory (-S) or free memory")]
    OutOfMemory {
        /// What the memory was for.
        what: &'static str,
        /// The size asked for.
        bytes: u64,
    },

    /// The job was cancelled (Ctrl-C). Temp files have been removed.
    #[error("interrupted")]
    Interrupted,

    /// A bug in kneser: an internal invariant did not hold. Please report it.
    #[error("internal error (a bug in kneser, please report it): {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::Io`] for `path`, turning `NotFound` into [`Error::NotFound`].
    /// An OS error that a wrapper (tempfile's, which adds the temp file's path and hides the
    /// OS error from `source()`) carries only in its text is unwrapped to the plain OS error,
    /// so the message names `path` once and [`Error::errno`] finds the number.
    pub fn io(action: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        let path = path.as_ref().to_path_buf();
        let source = plain_os_error(source);
        if source.kind() == io::ErrorKind::NotFound && action == "cannot open" {
            Error::NotFound { path }
        } else {
            Error::Io {
                action,
                path,
                source,
            }
        }
    }

    /// A thread that could not be started: out of memory when the system lacked room for its
    /// stack (`EAGAIN`/`ENOMEM`, as under `ulimit -v`), an internal error otherwise.
    pub fn thread_spawn(what: &str, e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::OutOfMemory => Error::OutOfMemory {
                what: "a thread's stack",
                bytes: 2 << 20,
            },
            _ => Error::Internal(format!("cannot start the {what} thread: {e}")),
        }
    }

    /// The operating-system error number behind an I/O error (`ENOSPC`, `EACCES`, `EMFILE`...),
    /// looked for through wrappers (tempfile and `BufWriter` add their own layers) and, when the
    /// system gave none, derived from the error kind. `ENOENT` for [`Error::NotFound`].
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::NotFound { .. } => Some(2),
            Error::Io { source, .. } => errno_of(source),
            _ => None,
        }
    }

    /// A [`Error::Format`] at `source:line`.
    pub fn format(source: impl Into<String>, line: u64, message: impl Into<String>) -> Self {
        Error::Format {
            at: Location::new(source, line),
            message: message.into(),
        }
    }
}

/// The OS error carried in the text of a wrapper (`"Permission denied (os error 13) at path
/// ..."`, std's format for OS errors) as a plain `io::Error`; `e` itself otherwise.
fn plain_os_error(e: io::Error) -> io::Error {
    if e.raw_os_error().is_some() {
        return e;
    }
    let Some(inner) = e.get_ref() else { return e };
    let text = inner.to_string();
    let code = text.find("(os error ").and_then(|at| {
        let rest = &text[at + "(os error ".len()..];
        rest[..rest.find(')')?].parse::<i32>().ok()
    });
    match code {
        Some(n) => io::Error::from_raw_os_error(n),
        None => e,
    }
}

/// The errno of `e`, or of the `io::Error` it wraps, or the usual one for its kind.
fn errno_of(e: &io::Error) -> Option<i32> {
    if let Some(n) = e.raw_os_error() {
        return Some(n);
    }
    let mut inner: Option<&(dyn std::error::Error + 'static)> =
        e.get_ref().map(|r| r as &(dyn std::error::Error + 'static));
    while let Some(err) = inner {
        if let Some(n) = err
            .downcast_ref::<io::Error>()
            .and_then(|x| x.raw_os_error())
        {
            return Some(n);
        }
        inner = err.source();
    }
    use io::ErrorKind as K;
    Some(match e.kind() {
        K::NotFound => 2,
        K::PermissionDenied => 13,
        K::AlreadyExists => 17,
        K::BrokenPipe => 32,
        K::StorageFull => 28,
        K::IsADirectory => 21,
        K::NotADirectory => 20,
        K::ReadOnlyFilesystem => 30,
        K::InvalidInput => 22,
        K::UnexpectedEof | K::InvalidData => 5, // EIO: a truncated or corrupt stream
        _ => return None,
    })
}

/// Adds a path to a bare `io::Result`.
pub trait IoContext<T> {
    /// Maps an `io::Error` to [`Error::Io`] naming `path`.
    fn at_path(self, action: &'static str, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at_path(self, action: &'static str, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_its_own_variant() {
        let e = Error::io(
            "cannot open",
            "/nope",
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(matches!(e, Error::NotFound { .. }));
        assert_eq!(e.to_string(), "no such file or directory: /nope");
    }

    #[test]
    fn wrapped_os_errors_are_unwrapped() {
        // tempfile's wrapper hides the OS error from source(); Error::io recovers it, and the
        // temp file's path leaves the message.
        let wrapped = tempfile::Builder::new()
            .tempfile_in("/no/such/dir/for/kneser")
            .expect_err("the directory is missing");
        assert!(wrapped.to_string().contains("at path"));
        let e = Error::io(
            "cannot create output file in",
            "/no/such/dir/for/kneser",
            wrapped,
        );
        assert_eq!(e.errno(), Some(2));
        let text = e.to_string();
        assert!(!text.contains("at path"), "{text}");
        assert_eq!(text.matches("/no/such/dir/for/kneser").count(), 1, "{text}");
        let emfile = io::Error::other("Too many open files (os error 24) at path \"/t/.x\"");
        assert_eq!(Error::io("cannot write", "/t", emfile).errno(), Some(24));
        let plain = io::Error::other("no number here");
        assert_eq!(Error::io("cannot write", "/t", plain).errno(), None);
    }

    #[test]
    fn errno_is_found_through_wrappers() {
        // tempfile wraps the OS error with the path: raw_os_error() alone says nothing.
        let wrapped = tempfile::Builder::new()
            .tempfile_in("/no/such/dir/for/kneser")
            .expect_err("the directory is missing");
        assert_eq!(wrapped.raw_os_error(), None);
        let e = Error::Io {
            action: "cannot create output file in",
            path: "/no/such/dir/for/kneser".into(),
            source: wrapped,
        };
        assert_eq!(e.errno(), Some(2));
        // A plain OS error, and a kind without a number.
        let full = Error::io("cannot write", "x", io::Error::from_raw_os_error(28));
        assert_eq!(full.errno(), Some(28));
        let kind = Error::io(
            "cannot write",
            "x",
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert_eq!(kind.errno(), Some(28));
    }

    #[test]
    fn format_names_file_and_line() {
        let e = Error::format("lm.arpa", 12, "expected a probability");
        assert_eq!(e.to_string(), "lm.arpa:12: expected a probability");
    }
}
