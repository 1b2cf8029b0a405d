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
    kneser::arm_allocator();
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

/// Runs a job that is too short to release the GIL for (a call on one short text) on this
/// thread, GIL held; a panic becomes `kneser.InternalError` as in [`detach_short`], not pyo3's
/// `PanicException`.
pub fn guarded<T>(py: Python<'_>, job: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(job)).map_err(|payload| panic_to_pyerr(py, payload))
}

/// Runs a short job without the GIL and without a worker thread; panics become
/// `kneser.InternalError`.
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

/// Test hook: raises the core error named `kind` through the normal mapping, or panics (on a
/// worker without the GIL; `panic_held`: on this thread, GIL held, as a short call does).
#[pyfunction]
#[pyo3(name = "_raise_core_error")]
fn raise_core_error(py: Python<'_>, kind: &str) -> PyResult<()> {
    use kneser::Error;
    if kind == "panic_held" {
        return guarded(py, || panic!("deliberate test panic"));
    }
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

/// Lines pulled from a Python iterable per batch.
const FEED_BATCH: usize = 4096;

/// Like [`run_detached`], for a job that consumes a Python iterable of str: this thread pulls
/// batches of owned strings while attached and sends them to the job through a bounded
/// channel, so the job never touches Python objects. An exception raised by the iterable (or a
/// non-str item) stops the job and is re-raised as is.
pub fn run_detached_feeding<T, F>(
    py: Python<'_>,
    iterable: &Bound<'_, PyAny>,
    job: F,
) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Cancel, kneser::Batches) -> kneser::Result<T> + Send,
{
    let mut iter = iterable.try_iter()?;
    kneser::arm_allocator();
    let cancel = Cancel::new();
    let (tx, rx) = mpsc::sync_channel::<Vec<String>>(4);
    let (res_tx, res_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let worker_cancel = cancel.clone();
        scope.spawn(move || {
            let batches: kneser::Batches = Box::new(rx.into_iter().map(Ok));
            let outcome = catch_unwind(AssertUnwindSafe(|| job(&worker_cancel, batches)));
            let _ = res_tx.send(outcome);
        });
        let mut tx = Some(tx);
        let mut pulled = 0usize;
        let mut feed_error: Option<PyErr> = None;
        let mut res_rx = res_rx;
        loop {
            if let Some(sender) = tx.take() {
                let mut batch = Vec::with_capacity(FEED_BATCH);
                let mut done = false;
                for _ in 0..FEED_BATCH {
                    match iter.next() {
                        Some(Ok(item)) => match feed_text(&item, pulled) {
                            Ok(s) => {
                                batch.push(s);
                                pulled += 1;
                            }
                            Err(e) => {
                                feed_error = Some(e);
                                done = true;
                                break;
                            }
                        },
                        Some(Err(e)) => {
                            feed_error = Some(e);
                            done = true;
                            break;
                        }
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                if feed_error.is_some() {
                    cancel.cancel();
                }
                let (sender, sent) = py.detach(move || {
                    let ok = batch.is_empty() || sender.send(batch).is_ok();
                    (sender, ok)
                });
                if !done && sent {
                    tx = Some(sender);
                }
                if let Err(e) = py.check_signals() {
                    cancel.cancel();
                    drop(tx.take());
                    let _ = py.detach(move || res_rx.recv());
                    return Err(e);
                }
                match res_rx.try_recv() {
                    Ok(outcome) => return finish(py, outcome, feed_error),
                    Err(_) => continue,
                }
            }
            let (back, got) = py.detach(move || {
                let got = res_rx.recv_timeout(POLL);
                (res_rx, got)
            });
            res_rx = back;
            match got {
                Ok(outcome) => return finish(py, outcome, feed_error),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(signal_err) = py.check_signals() {
                        cancel.cancel();
                        let _ = py.detach(move || res_rx.recv());
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

/// Item `index` of a `texts=` iterable as a Rust string: a TypeError naming the item for a
/// non-str, kneser.FormatError for a str holding a lone surrogate.
fn feed_text(item: &Bound<'_, PyAny>, index: usize) -> PyResult<String> {
    if item.is_instance_of::<pyo3::types::PyString>() {
        crate::text::extract_text(item, Some(index))
    } else {
        Err(crate::sources::not_a_text(item, index))
    }
}

type Outcome<T> = std::thread::Result<kneser::Result<T>>;

fn finish<T>(py: Python<'_>, outcome: Outcome<T>, feed_error: Option<PyErr>) -> PyResult<T> {
    if let Some(e) = feed_error {
        return Err(e);
    }
    match outcome {
        Ok(result) => result.map_err(|e| to_pyerr(py, e)),
        Err(payload) => Err(panic_to_pyerr(py, payload)),
    }
}
