//! The ARPA format: a writer (for estimation) and a reader (for scoring).

pub mod reader;
pub mod writer;
