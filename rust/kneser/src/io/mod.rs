//! Input and output: line readers over plain, gzip, xz, zstd and bzip2 files or stdin, and the
//! one output layer ([`OutputFile`]: a file appears at its path only when complete; [`Output`]:
//! a path or a caller's writer).
//!
//! Input: bytes from a path (`-` is stdin). The compression is recognised by its magic bytes,
//! never the file name, for every input kneser reads. Output: see [`OutputFile`].
//! Memory: one buffer of [`BUFFER_SIZE`] bytes per open file (plus the decoder's state).

mod checksum;
mod lines;
mod output;

pub use checksum::Checksum;

pub use lines::{LineReader, RawLine};
pub use output::{
    claim_output, refuse_input_as_output, resolve_links, AtomicFile, Destination, Output,
    OutputFile,
};

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Size of the read and write buffers.
pub const BUFFER_SIZE: usize = 1 << 20;

/// The compression of an input, recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    Plain,
    /// gzip (`1f 8b`).
    Gzip,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
    /// zstd (`28 b5 2f fd`).
    Zstd,
    /// bzip2 (`BZh` and a block size digit `1`-`9`).
    Bzip2,
}

impl Compression {
    /// Recognises the compression from the first bytes of a stream.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Compression::Bzip2
        } else {
            Compression::Plain
        }
    }
}

/// The 4 bytes a Parquet file starts with.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Whether `path` is a Parquet file, recognised by its magic bytes as the compressions are
/// (`-`, a missing or unreadable file: false).
pub fn is_parquet(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == PARQUET_MAGIC
}

/// The name used for a path in messages (`<stdin>` for `-`).
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The name KenLM gives an input file (`util::NameFromFD` of the descriptor it reads): the
/// file the descriptor is open on, as `/proc/self/fd` names it (absolute, symlinks resolved),
/// and for standard input (`-`) that file too when stdin is redirected from one (`lmplz <
/// corpus.txt`), else `stdin` (a pipe, a terminal). A path is named by its canonical form, the
/// same file; where the system gives no such name, by the path as given, and stdin as `stdin`.
pub fn kenlm_file_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        #[cfg(target_os = "linux")]
        if let Ok(target) = std::fs::read_link("/proc/self/fd/0") {
            if target.is_absolute() {
                return target.display().to_string();
            }
        }
        return "stdin".to_string();
    }
    match std::fs::canonicalize(path) {
        Ok(p) => p.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// Opens `path` (or stdin for `-`) for reading, decompressing gzip, xz, zstd and bzip2
/// transparently (recognised by content). A truncated or corrupt compressed stream is an
/// [`Error::Io`] naming the file when the bytes run out (see [`LineReader`]).
pub fn open_input(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        let file = File::open(path).at_path("cannot open", path)?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(Error::Io {
                action: "cannot read",
                path: path.to_path_buf(),
                source: io::Error::other("is a directory"),
            });
        }
        Box::new(file)
    };
    let mut buffered = BufReader::with_capacity(BUFFER_SIZE, raw);
    let head = buffered.fill_buf().at_path("cannot read", path)?;
    let reader: Box<dyn BufRead + Send> = match Compression::sniff(head) {
        Compression::Plain => Box::new(buffered),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUFFER_SIZE,
            flate2::bufread::MultiGzDecoder::new(buffered),
        )),
        Compression::Xz => Box::new(BufReader::with_capacity(
            BUFFER_SIZE,
            xz2::bufread::XzDecoder::new_multi_decoder(buffered),
        )),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .at_path("cannot read zstd stream", path)?;
            Box::new(BufReader::with_capacity(BUFFER_SIZE, decoder))
        }
        Compression::Bzip2 => Box::new(BufReader::with_capacity(
            BUFFER_SIZE,
            bzip2::bufread::MultiBzDecoder::new(buffered),
        )),
    };
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn parquet_by_its_magic_not_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.parquet"));
        std::fs::write(&a, b"PAR1 and the rest").unwrap();
        std::fs::write(&b, b"PAR").unwrap();
        assert!(is_parquet(&a));
        assert!(!is_parquet(&b));
        assert!(!is_parquet(&dir.path().join("missing")));
        assert!(!is_parquet(Path::new("-")));
    }

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(Compression::sniff(b"\x1f\x8b\x08"), Compression::Gzip);
        assert_eq!(Compression::sniff(b"\xfd7zXZ\x00\x00"), Compression::Xz);
        assert_eq!(Compression::sniff(b"\x28\xb5\x2f\xfd"), Compression::Zstd);
        assert_eq!(Compression::sniff(b"BZh91AY&SY"), Compression::Bzip2);
        assert_eq!(Compression::sniff(b"BZh is a word"), Compression::Plain);
        assert_eq!(Compression::sniff(b"hello"), Compression::Plain);
        assert_eq!(Compression::sniff(b""), Compression::Plain);
    }

    #[test]
    fn reads_every_compression() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"a b c\nd e\n";
        let plain = dir.path().join("p.txt");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("p.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let xz = dir.path().join("p.xz");
        let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(text).unwrap();
        std::fs::write(&xz, e.finish().unwrap()).unwrap();
        let zst = dir.path().join("p.zst");
        std::fs::write(&zst, zstd::encode_all(&text[..], 1).unwrap()).unwrap();
        // Named .txt: recognised by content, not by the name.
        let bz = dir.path().join("bz.txt");
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(text).unwrap();
        std::fs::write(&bz, e.finish().unwrap()).unwrap();
        for p in [&plain, &gz, &xz, &zst, &bz] {
            let mut out = Vec::new();
            open_input(p).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, text, "{}", p.display());
        }
    }

    #[test]
    fn missing_input_is_not_found() {
        let err = open_input(Path::new("/definitely/not/here.txt"))
            .err()
            .unwrap();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
    }
}
