//! Python bindings of kneser: argument conversion, GIL release and error mapping; nothing else.
//! Every algorithm lives in the `kneser` core crate.

use pyo3::prelude::*;

mod borrow;
mod detach;
mod distributed;
mod documents;
mod errors;
mod estimate;
mod io;
mod kenlm_api;
mod model;
mod pipeline;
mod segment;
mod sentencepiece;
mod sources;
mod text;
mod token_ids;
mod vocab;

/// Rust allocations of the extension: the system allocator with an emergency reserve, so that
/// running out of memory is a `MemoryError`, not an abort of the interpreter (see
/// `kneser::alloc`).
#[global_allocator]
static ALLOCATOR: kneser::GuardedAllocator = kneser::GuardedAllocator;

/// The native module `kneser._kneser`; the public API is re-exported by `kneser/__init__.py`.
#[pymodule]
fn _kneser(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_MEMORY", kneser::DEFAULT_MEMORY)?;
    m.add("LMPLZ_SEPARATORS", kneser::LMPLZ_SEPARATORS)?;
    detach::register(m)?;
    estimate::register(m)?;
    io::register(m)?;
    model::register(m)?;
    kenlm_api::register(m)?;
    text::register(m)?;
    vocab::register(m)?;
    pipeline::register(m)?;
    documents::register(m)?;
    distributed::register(m)?;
    Ok(())
}
