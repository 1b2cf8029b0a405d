//! How the bytes of a binary model are brought into memory: KenLM's `util::LoadMethod`, for
//! kneser's binary format.
//!
//! Input: an open model file and a [`LoadMethod`]. Output: a read-only [`memmap2::Mmap`] over
//! the whole file, either a mapping of the file itself (`Lazy`, `Populate`) or anonymous memory
//! holding a copy of it (`Read`). Memory: `Lazy` costs nothing up front (pages are read on first
//! use); `Populate` reads every page into the page cache now (shared, file-backed memory);
//! `Read` allocates the file's size in private memory and copies the file into it.
//!
//! The methods differ in one more way: a mapping of the file itself (`Lazy`, `Populate`)
//! reads the file in place for as long as the model lives, so a model file replaced by an
//! in-place rewrite or truncated while loaded takes the process down with `SIGBUS` (the usual
//! contract of memory-mapped models, KenLM's included). A file replaced by rename, as
//! `save_binary` and `build_binary` do, is safe: the old file stays mapped. `Read` holds its own
//! copy and never touches the file again.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{IoContext, Result};

/// How a binary model is brought into memory (the kenlm module's `Config.load_method`).
///
/// ARPA files are always parsed into memory; the method applies to binary models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LoadMethod {
    /// Map the file; pages are read from disk on first use (KenLM's `LAZY`). Loads in
    /// microseconds whatever the size; the first queries are slower.
    Lazy,
    /// Map the file and read every page now (`MAP_POPULATE` on Linux; KenLM's
    /// `POPULATE_OR_LAZY` and, on Linux, `POPULATE_OR_READ`, its default).
    #[default]
    Populate,
    /// Copy the file into private memory and close it (KenLM's `READ`): immune to the file
    /// being rewritten or truncated while the model is in use.
    Read,
}

impl LoadMethod {
    /// The name used on the command line and in messages: `lazy`, `populate`, `read`.
    pub fn name(self) -> &'static str {
        match self {
            LoadMethod::Lazy => "lazy",
            LoadMethod::Populate => "populate",
            LoadMethod::Read => "read",
        }
    }
}

/// Brings the whole of `file` (the model at `path`) into memory by `method`.
///
/// Errors: [`crate::Error::Io`] naming `path` when the file cannot be mapped or read (or
/// shrinks while it is copied).
pub(crate) fn map_model_file(
    file: &File,
    path: &Path,
    method: LoadMethod,
) -> Result<memmap2::Mmap> {
    match method {
        LoadMethod::Lazy | LoadMethod::Populate => {
            let mut options = memmap2::MmapOptions::new();
            if method == LoadMethod::Populate {
                options.populate();
            }
            // SAFETY: the mapping is read-only and only ever read through `&[u8]` with bounds
            // checks (`LeWords`, the header reader). Mapped files must not be truncated or
            // rewritten in place while in use (see the module doc; `LoadMethod::Read` is the
            // way out); `save_binary` writes a new file and renames it, so it never changes a
            // mapped one.
            unsafe { options.map(file) }.at_path("cannot map", path)
        }
        LoadMethod::Read => {
            let len = file.metadata().at_path("cannot read", path)?.len();
            let len = usize::try_from(len).map_err(|_| {
                crate::Error::io(
                    "cannot read",
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::OutOfMemory,
                        "the file is larger than the address space",
                    ),
                )
            })?;
            if len == 0 {
                // An anonymous mapping cannot be empty; an empty file maps to an empty map.
                // SAFETY: as above; an empty mapping has no byte to read.
                return unsafe { memmap2::Mmap::map(file) }.at_path("cannot map", path);
            }
            let mut copy =
                memmap2::MmapMut::map_anon(len).at_path("cannot allocate memory for", path)?;
            // Transparent huge pages where the system allows them: the probes of a large
            // model land on random pages, and 2 MiB pages spare most of their TLB misses.
            // Only a hint: its failure changes nothing.
            #[cfg(target_os = "linux")]
            let _ = copy.advise(memmap2::Advice::HugePage);
            let mut reader = file;
            reader
                .read_exact(&mut copy[..])
                .at_path("cannot read", path)?;
            copy.make_read_only()
                .at_path("cannot protect the copy of", path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn every_method_gives_the_file_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("m.bin");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .expect("write");
        for method in [LoadMethod::Lazy, LoadMethod::Populate, LoadMethod::Read] {
            let file = File::open(&path).expect("open");
            let map = map_model_file(&file, &path, method).expect("map");
            assert_eq!(&map[..], &bytes[..], "{}", method.name());
        }
    }

    #[test]
    fn read_is_a_copy_that_outlives_a_rewrite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("m.bin");
        std::fs::write(&path, b"0123456789").expect("write");
        let file = File::open(&path).expect("open");
        let map = map_model_file(&file, &path, LoadMethod::Read).expect("read");
        drop(file);
        // Truncate and rewrite the file in place: the copy is untouched.
        std::fs::write(&path, b"ab").expect("rewrite");
        assert_eq!(&map[..], b"0123456789");
    }

    #[test]
    fn empty_file_reads_as_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("empty.bin");
        std::fs::write(&path, b"").expect("write");
        for method in [LoadMethod::Lazy, LoadMethod::Populate, LoadMethod::Read] {
            let file = File::open(&path).expect("open");
            assert!(map_model_file(&file, &path, method)
                .expect("map")
                .is_empty());
        }
    }

    #[test]
    fn default_is_kenlm_default() {
        assert_eq!(LoadMethod::default(), LoadMethod::Populate);
    }
}
