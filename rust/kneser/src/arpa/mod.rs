//! The ARPA format: a writer (for estimation), a reader (for scoring), and its content as
//! records (estimation to the binary builders, with no text between).

pub mod reader;
pub mod records;
pub mod writer;
