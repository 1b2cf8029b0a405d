//! Running long native calls with the GIL released while honouring Ctrl-C.
//!
//! [`run_detached`] runs the job on a scoped worker thread. The calling thread releases the GIL
//! and wakes every 50 ms to run Python's signal handlers; on KeyboardInterrupt (or any exception
//! a handler raises) it sets the job's [`Cancel`] flag, waits for the job to stop at its next
//! check (its temp files are dropped on the way out) and re-raises. A panic in the job is caught
//! and becomes `kneser.InternalError`: it never unwinds into or aborts the interpreter.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use kneser::Cancel;
use pyo3::prelude::*;

use crate::errors::{panic_to_pyerr, to_pyerr};

const POLL: Duration = Duration::from_millis(50);

/// Runs `job` without the GIL, polling for signals; see the module doc.
pub fn run_detached<T, F>(py: Python<'_>, job: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Cancel) -> kneser::Result<T> + Send,
{
    let cancel = Cancel::new();
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let worker_cancel = cancel.clone();
        scope.spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| job(&worker_cancel)));
            let _ = tx.send(outcome);
        });
        let mut rx = rx;
        loop {
            // `Receiver` is not `Sync`: move it into the detached closure and back.
            let (back, got) = py.detach(move || {
                let got = rx.recv_timeout(POLL);
                (rx, got)
            });
            rx = back;
            match got {
                Ok(Ok(result)) => return result.map_err(|e| to_pyerr(py, e)),
                Ok(Err(payload)) => return Err(panic_to_pyerr(py, payload)),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(signal_err) = py.check_signals() {
                        cancel.cancel();
                        // Wait for the job to notice and clean up, without the GIL.
                        let _ = py.detach(move || rx.recv());
                        return Err(signal_err);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(to_pyerr(
                        py,
                        kneser::Error::Internal("worker thread vanished".into()),
                    ))
                }
            }
        }
    })
}

/// Runs a short job without the GIL and without a worker thread; panics become
/// `kneser.InternalError`.
#[allow(dead_code)] // for short calls of the feature modules
pub fn detach_short<T, F>(py: Python<'_>, job: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> kneser::Result<T> + Send,
{
    match py.detach(|| catch_unwind(AssertUnwindSafe(job))) {
        Ok(result) => result.map_err(|e| to_pyerr(py, e)),
        Err(payload) => Err(panic_to_pyerr(py, payload)),
    }
}

/// Test hook: spins without the GIL for `seconds`, checking the cancel flag every millisecond.
/// The tests use it to prove that long calls release the GIL and honour Ctrl-C.
#[pyfunction]
#[pyo3(name = "_busy_wait")]
fn busy_wait(py: Python<'_>, seconds: f64) -> PyResult<u64> {
    run_detached(py, |cancel| {
        let start = std::time::Instant::now();
        let mut spins = 0u64;
        while start.elapsed().as_secs_f64() < seconds {
            cancel.check()?;
            std::thread::sleep(Duration::from_millis(1));
            spins += 1;
        }
        Ok(spins)
    })
}

/// Test hook: raises the core error named `kind` through the normal mapping, or panics.
#[pyfunction]
#[pyo3(name = "_raise_core_error")]
fn raise_core_error(py: Python<'_>, kind: &str) -> PyResult<()> {
    use kneser::Error;
    let kind = kind.to_string();
    run_detached(py, move |_| {
        Err(match kind.as_str() {
            "not_found" => Error::NotFound {
                path: "/no/such/file.txt".into(),
            },
            "io" => Error::Io {
                action: "cannot write",
                path: "/read-only/out.arpa".into(),
                source: std::io::Error::from_raw_os_error(13),
            },
            "format" => Error::format("lm.arpa", 7, "expected 2 fields, found 1"),
            "discount" => Error::Discount {
                order: 2,
                count: 3,
                reason: "no 2-grams with adjusted count 2 were observed".into(),
            },
            "argument" => Error::InvalidArgument("order must be at least 1".into()),
            "panic" => panic!("deliberate test panic"),
            _ => Error::Internal(format!("unknown kind {kind}")),
        })
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(busy_wait, m)?)?;
    m.add_function(wrap_pyfunction!(raise_core_error, m)?)?;
    Ok(())
}
