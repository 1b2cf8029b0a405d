//! # kneser: corpus preprocessing and modified Kneser-Ney language models
//!
//! The core crate: every algorithm lives here, with no Python in it (the bindings are the
//! `kneser-py` crate). Each stage is one module, and each module's doc states its input, its
//! output, their sort orders and its memory bound.
//!
//! * [`io`]: line readers over plain, gzip, xz, zstd and bzip2 input (by content); the one output
//!   layer (atomic files, FIFOs and devices in place, an input never an output).
//! * [`text`]: lmplz's whitespace rule, normalization, tokenization, Chinese word segmentation
//!   and stopwords.
//! * [`vocab`]: vocabularies and id encoding.
//! * [`sort`]: fixed-size n-gram records, sorted runs spilled to a temp dir and a k-way merge that
//!   combines equal keys.
//! * [`mod@estimate`]: the modified Kneser-Ney pipeline of lmplz (Heafield et al. 2013): count,
//!   adjust, discount, initial probabilities, interpolate, prune.
//! * [`arpa`]: the ARPA writer and reader.
//! * [`model`]: query structures for scoring (in memory and a memory-mapped binary format).
//!
//! Errors are one enum, [`Error`]; long jobs take a [`Cancel`] flag that they poll between
//! blocks of work.

#![deny(missing_docs)]

pub mod alloc;
pub mod arpa;
pub mod cancel;
pub mod ccnet;
pub mod error;
pub mod estimate;
pub mod io;
pub mod model;
pub mod sort;
pub mod text;
pub mod vocab;

pub use cancel::Cancel;
pub use error::{Error, Location, Result};

// The facade: the entry points the bindings and the tests start from (`kneser::Model`,
// `kneser::estimate`, ...). The modules stay public for the stage-level items the bindings
// convert (see docs/architecture.md, "The core's public surface").
pub use ccnet::CcnetScorer;
pub use estimate::{estimate, EstimateConfig, Output, PruneConfig, Source, Summary};
pub use io::{open_input, LineReader, OutputFile};
pub use model::{BuildConfig, FullScore, LoadMethod, Model, State};
pub use text::normalize::Normalizer;
pub use text::segment::Segmenter;
pub use text::stopwords::Stopwords;
pub use text::tokenize::Tokenizer;
pub use vocab::Vocab;
