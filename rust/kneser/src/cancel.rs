//! Cooperative cancellation: long jobs poll a [`Cancel`] between blocks of work.
//!
//! The Python bindings set the flag when the interpreter receives Ctrl-C (KeyboardInterrupt),
//! the job returns [`Error::Interrupted`] at its next check, and its temp files are dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A shared flag that asks a running job to stop. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Error::Interrupted)` once cancelled; `Err(Error::OutOfMemory)` once the system
    /// refused an allocation that the emergency reserve served ([`crate::alloc`]); call
    /// between blocks of work.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Interrupted)
        } else if crate::alloc::exhausted() {
            Err(Error::OutOfMemory {
                what: "the job's working memory (the system refused it)",
                bytes: crate::alloc::failed_bytes() as u64,
            })
        } else {
            Ok(())
        }
    }
}
