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
//! * [`ccnet`]: CCNet's perplexity filter; [`documents`]: the generic pipeline's JSON-lines
//!   documents (read, and the kept ones written back byte for byte); [`pipeline`]: the generic
//!   pipeline's job (normalize, dedup, tokenize, score, calibrate, bucket, write).
//!
//! Errors are one enum, [`Error`]; long jobs take a [`Cancel`] flag that they poll between
//! blocks of work.

#![deny(missing_docs)]

pub mod alloc;
pub mod arpa;
pub mod cancel;
pub mod ccnet;
pub mod documents;
pub mod error;
pub mod estimate;
pub mod io;
pub mod model;
pub mod pipeline;
pub mod sort;
pub mod text;
pub mod vocab;

pub use cancel::Cancel;
pub use error::{Error, Location, Result};

// The facade: every name the bindings use, at the crate root (`kneser::Model`,
// `kneser::estimate`, ...), so that they depend on what the core offers, not on where it lives.
// The modules stay public for the Rust stage tests and the docs (see docs/architecture.md, "The
// core's public surface"). A generic name is renamed for the root (`TokenizerMode`,
// `NormalizeStep`, `ccnet_perplexity`, `EOS_WORD`, ...).

// A cache prefetch hint (the bindings use it on Python objects they are about to read).
pub use model::probing::prefetch;

// The allocator's emergency reserve (out of memory is an error, not an abort).
pub use alloc::{arm as arm_allocator, Guarded as GuardedAllocator};

// Input and output.
pub use io::{
    claim_output, display_name, is_parquet, open_input, Destination, LineReader, Output,
    OutputFile, RawLine,
};

// Estimation (lmplz).
pub use estimate::config::{
    parse_memory, read_limit_vocab, DEFAULT_FALLBACK, DEFAULT_MEMORY, MAX_ORDER,
};
pub use estimate::counts_file::CountsHeader;
pub use estimate::explain::{explain_file, explain_text, Explained};
pub use estimate::pipeline::{count_to_file, Batches};
pub use estimate::{estimate, EstimateConfig, PruneConfig, Source, Summary};
// The partitioned estimation of `kneser.ray` (docs/ray.md): one core function per Ray task.
pub use estimate::{partition, partitioned};

// Models: loading, scoring, the query report, binary files.
pub use model::query::{run_query, QueryOptions, QueryTotals};
pub use model::{
    arpa_memory_estimate, binary_output, binary_writer, build_binary, build_binary_trie,
    memory_estimate, memory_sizes, BinaryJob, BinaryLayout, BinaryWriter, BuildConfig, FullScore,
    LoadMethod, MemoryEstimateFlags, Model, State, TrieOptions,
};

// Text: normalization, tokenization, segmentation, SentencePiece, whitespace rules.
pub use text::normalize::{
    CcnetOptions, DigitMode, Normalizer, PunctMode, Step as NormalizeStep, Ucs4Out, UnicodeForm,
};
pub use text::segment::{JoinOptions, SegmentStats, Segmenter, UserDictLine, WordList};
pub use text::sentencepiece::{ModelType as SentencePieceType, SentencePiece};
pub use text::stopwords::Stopwords;
pub use text::tokenize::{FlatTokens, Mode as TokenizerMode, Tokenizer};
pub use text::whitespace::{is_python_space, LMPLZ_SEPARATORS};

// Vocabularies and id shards.
pub use vocab::{
    build_from_files, default_specials, encode_corpus, encode_texts, EncodeConfig, IdBatch,
    ShardDtype, ShardFormat, ShardSink, TokenCounter, Unknown, Vocab, VocabConfig, BOS as BOS_WORD,
    DEFAULT_SHARD_TOKENS, EOS as EOS_WORD, PAD as PAD_WORD, TEXTS_SOURCE, UNK as UNK_WORD,
};

// CCNet's perplexity filter.
pub use ccnet::jsonl::{JsonlJob, JsonlOptions, JsonlReport, LineBatch};
pub use ccnet::{perplexity as ccnet_perplexity, Bucket, CcnetScorer};

// The generic pipeline's documents (`kneser.Pipeline`).
pub use ccnet::bucket_index;
pub use documents::{read_documents, write_documents, Document, DocumentBatch, DocumentOptions};
pub use pipeline::{
    document_perplexities, histogram_edges as pipeline_histogram_edges, normalize_documents,
    percentile, prepare_lines, CutoffRule, Dedup, PipelineJob, PipelineOptions, PipelineReport,
    Prepared, ShardText, Written, DEFAULT_BATCH, DEFAULT_CALIBRATION, DEFAULT_PERCENTILES,
};
