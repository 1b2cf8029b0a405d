//! Text processing: lmplz's whitespace rule, normalization (CCNet's rules among others),
//! tokenization, dictionary-based Chinese word segmentation (jieba's algorithm) and stopwords.

pub mod chars;
pub mod links;
pub mod normalize;
pub mod passes;
pub mod segment;
pub mod sentencepiece;
pub mod stopwords;
pub mod surrogates;
pub mod tokenize;
pub mod whitespace;
