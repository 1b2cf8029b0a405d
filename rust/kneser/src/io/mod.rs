//! Input and output: line readers over plain, gzip, xz and zstd files or stdin, and an output
//! file that appears at its path only when complete.
//!
//! Input: bytes from a path (`-` is stdin). The compression is recognised by its magic bytes, not
//! the file name. Output: [`AtomicFile`] writes to a temporary sibling and renames it over the
//! target on [`AtomicFile::commit`]; dropped uncommitted, it removes the temporary.
//! Memory: one buffer of [`BUFFER_SIZE`] bytes per open file (plus the decoder's state).

mod lines;

pub use lines::{LineReader, RawLine};

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
        } else {
            Compression::Plain
        }
    }
}

/// The name used for a path in messages (`<stdin>` for `-`).
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Opens `path` (or stdin for `-`) for reading, decompressing gzip, xz and zstd transparently.
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
    };
    Ok(reader)
}

/// An output file that appears at its final path only when [`AtomicFile::commit`] is called.
///
/// Writes go to a temporary file in the same directory (so the final rename is atomic); if the
/// value is dropped without a commit (an error, Ctrl-C) the temporary is removed and nothing is
/// left at the target path.
pub struct AtomicFile {
    target: PathBuf,
    writer: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing the file that will end up at `target`.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".to_string());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    Error::NotFound { path: dir.clone() }
                } else {
                    Error::io("cannot create output file in", &dir, e)
                }
            })?;
        Ok(AtomicFile {
            target,
            writer: BufWriter::with_capacity(BUFFER_SIZE, tmp),
        })
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Overwrites `bytes` at `offset` (e.g. a count in a header written before it was known),
    /// then continues writing at the end.
    pub fn patch(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let target = self.target.clone();
        self.writer.flush().at_path("cannot write", &target)?;
        let f = self.writer.get_mut().as_file_mut();
        f.seek(SeekFrom::Start(offset))
            .at_path("cannot write", &target)?;
        f.write_all(bytes).at_path("cannot write", &target)?;
        f.seek(SeekFrom::End(0)).at_path("cannot write", &target)?;
        Ok(())
    }

    /// Flushes and renames the file to its target path. (No fsync: like KenLM, kneser promises
    /// that a file at the target path is complete, not that it survives a power cut.)
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        let tmp = self
            .writer
            .into_inner()
            .map_err(|e| Error::io("cannot write", &target, e.into_error()))?;
        // Keep the permissions a plain `File::create` would give (tempfile uses 0600).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644));
        }
        tmp.persist(&target)
            .map_err(|e| Error::io("cannot rename output to", &target, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Seeking (for headers written last, such as a `.npy` shape) flushes the buffer first.
impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.writer.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(Compression::sniff(b"\x1f\x8b\x08"), Compression::Gzip);
        assert_eq!(Compression::sniff(b"\xfd7zXZ\x00\x00"), Compression::Xz);
        assert_eq!(Compression::sniff(b"\x28\xb5\x2f\xfd"), Compression::Zstd);
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
        for p in [&plain, &gz, &xz, &zst] {
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

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.arpa");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"partial").unwrap();
            // dropped without commit
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_file_in_missing_dir_is_not_found() {
        let err = AtomicFile::create("/no/such/dir/out.arpa").err().unwrap();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
    }
}
