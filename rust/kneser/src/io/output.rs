//! The one output layer: every file kneser writes (ARPA, binary model, counts, vocabularies,
//! shards, cleaned or segmented text, query results) goes through [`OutputFile`].
//!
//! Input: a path as the user gave it (`-` is stdout) and, optionally, the inputs of the same job.
//! Output: the bytes at that path, by one of three routes chosen when the output is claimed,
//! before any work starts:
//!
//! * a regular file, or a path that does not exist yet: written to a temporary sibling and renamed
//!   over the target by [`OutputFile::commit`]; dropped uncommitted (an error, Ctrl-C, SIGTERM,
//!   SIGHUP), the temporary is removed, so nothing half-written ever appears at the path. A new
//!   file gets mode `0666` less the umask; a replaced file keeps its mode.
//! * a FIFO, a character or block device, a socket (`/dev/stdout`, `/dev/null`, `<(...)`): written
//!   in place, since a rename would replace the special file by a regular one.
//! * `-`: standard output, through a duplicate of fd 1, so that a closed stdout is an error
//!   (`EBADF`) instead of bytes silently dropped, and a full one (`/dev/full`) reports `ENOSPC`.
//!
//! A symbolic link is followed to its target (the link stays a link; the target is replaced).
//! Claiming refuses, with a typed error and before any work: an empty path, a directory, a path
//! in a directory that does not exist, and an output that is one of the job's inputs (same device
//! and inode), which would otherwise replace the corpus.
//!
//! Memory: one buffer of [`BUFFER_SIZE`] bytes.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::BUFFER_SIZE;
use crate::error::{Error, IoContext, Result};

/// How many symbolic links are followed before giving up (as the kernel's `ELOOP` limit).
const MAX_LINKS: usize = 40;

enum Route {
    Atomic {
        target: PathBuf,
        writer: BufWriter<tempfile::NamedTempFile>,
    },
    InPlace(BufWriter<File>),
}

/// An output claimed by a job; see the module doc.
pub struct OutputFile {
    /// The path as the user gave it (`<stdout>` for `-`), for messages.
    name: String,
    route: Route,
}

/// The former name of [`OutputFile`]; the same type.
pub type AtomicFile = OutputFile;

/// Where a job's output goes, as a caller names it.
pub enum Output {
    /// A path (`-` is stdout), claimed through [`OutputFile`]: written atomically, or in place
    /// for stdout, a FIFO or a device.
    Path(PathBuf),
    /// Any writer (stdout, a buffer); the caller owns atomicity.
    Writer(Box<dyn Write + Send>),
    /// An estimate's n-gram records, with no text (a binary model built straight from
    /// estimation: [`crate::model::binary_output`]); only the estimator's ARPA sink takes it.
    Grams(Box<dyn crate::arpa::records::GramSink>),
}

impl Output {
    /// Claims the output for a job reading `inputs` (a bad path, or one of `inputs` as the
    /// output, fails here, before any work).
    pub fn open<P: AsRef<Path>>(self, inputs: &[P]) -> Result<Destination> {
        Ok(match self {
            Output::Path(p) => Destination::File(OutputFile::create_for(&p, inputs)?),
            Output::Writer(w) => Destination::Writer(w),
            Output::Grams(_) => {
                return Err(Error::InvalidArgument(
                    "n-gram records go to an estimate, not to a text output".into(),
                ))
            }
        })
    }
}

/// An [`Output`] once claimed: write to it, then [`Destination::finish`] it (dropped
/// unfinished, a file's temporary is removed).
pub enum Destination {
    /// A claimed path.
    File(OutputFile),
    /// A caller's writer.
    Writer(Box<dyn Write + Send>),
}

impl Destination {
    /// The output's name in messages (its path, or `<stdout>` for a caller's writer).
    pub fn name(&self) -> &str {
        match self {
            Destination::File(f) => f.name(),
            Destination::Writer(_) => "<stdout>",
        }
    }

    /// Commits a file ([`OutputFile::commit`]); flushes a writer.
    pub fn finish(self) -> Result<()> {
        match self {
            Destination::File(f) => f.commit(),
            Destination::Writer(mut w) => w.flush().at_path("cannot write", "<stdout>"),
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::File(f) => f.write(buf),
            Destination::Writer(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Destination::File(f) => f.write_all(buf),
            Destination::Writer(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::File(f) => f.flush(),
            Destination::Writer(w) => w.flush(),
        }
    }
}

/// `path` with every symbolic link in its last component followed (a dangling link resolves to
/// the path it points to, which is then created).
pub fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).at_path("cannot read link", &current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::io(
        "cannot resolve",
        path,
        io::Error::other("too many levels of symbolic links"),
    ))
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Refuses `output` when it is one of `inputs` (the same regular file, by device and inode, so
/// through any link or spelling). `-` and paths that do not exist yet are never inputs.
pub fn refuse_input_as_output<P: AsRef<Path>>(output: &Path, inputs: &[P]) -> Result<()> {
    if output.as_os_str() == "-" {
        return Ok(());
    }
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(());
    };
    if !out.is_file() {
        return Ok(());
    }
    for input in inputs {
        let input = input.as_ref();
        if input.as_os_str() == "-" {
            continue;
        }
        if let Ok(m) = std::fs::metadata(input) {
            if same_file(&m, &out) {
                return Err(Error::InvalidArgument(format!(
                    "the output {} is the input {} (the same file): writing it would destroy \
                     the input; choose another output path",
                    output.display(),
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// Checks `path` as [`OutputFile::create_for`] would, for a job that creates its output only at
/// the end: the claim is made and released, so every check runs before the work.
/// A FIFO or device is checked but not opened (opening a FIFO waits for its reader).
pub fn claim_output<P: AsRef<Path>>(path: &Path, inputs: &[P]) -> Result<()> {
    if path.as_os_str() != "-" && !path.as_os_str().is_empty() {
        refuse_input_as_output(path, inputs)?;
        if let Ok(m) = std::fs::metadata(path) {
            if m.is_dir() {
                return Err(is_dir_error(path));
            }
            if !m.is_file() {
                return Ok(());
            }
        }
    }
    OutputFile::create_for(path, inputs).map(drop)
}

fn is_dir_error(path: &Path) -> Error {
    Error::Io {
        action: "cannot write to",
        path: path.to_path_buf(),
        source: io::Error::from_raw_os_error(21), // EISDIR
    }
}

impl OutputFile {
    /// Claims `path` (`-` for stdout); see the module doc for the checks and routes.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Self::create_for(path, &[] as &[&Path])
    }

    /// Claims `path` for a job reading `inputs`, refusing it when it is one of them.
    pub fn create_for<P: AsRef<Path>>(path: impl AsRef<Path>, inputs: &[P]) -> Result<Self> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::InvalidArgument(
                "the output path is empty; give a file name, or - for standard output".into(),
            ));
        }
        if path.as_os_str() == "-" {
            return Self::stdout();
        }
        let name = path.display().to_string();
        refuse_input_as_output(path, inputs)?;
        // The kernel follows the links for the type (so `/dev/stdout` -> `/proc/self/fd/1` ->
        // a pipe is seen as the pipe it is).
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Err(is_dir_error(path)),
            Ok(m) if m.is_file() => {
                let target = std::fs::canonicalize(path).at_path("cannot resolve", path)?;
                Self::atomic(name, target, Some(m.permissions()))
            }
            Ok(_) => {
                // A FIFO, a device or a socket: write in place.
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .at_path("cannot open for writing", path)?;
                Ok(OutputFile {
                    name,
                    route: Route::InPlace(BufWriter::with_capacity(BUFFER_SIZE, file)),
                })
            }
            // New, or a dangling link: created where the link points.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Self::atomic(name, resolve_links(path)?, None)
            }
            Err(e) => Err(Error::io("cannot write to", path, e)),
        }
    }

    fn stdout() -> Result<Self> {
        let name = "<stdout>".to_string();
        #[cfg(unix)]
        let file = {
            use std::os::fd::AsFd;
            // A duplicate of fd 1: writes that fail (closed, full, broken pipe) are reported,
            // where `std::io::stdout` would swallow EBADF.
            let fd = io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| Error::io("cannot write to", &name, e))?;
            File::from(fd)
        };
        #[cfg(not(unix))]
        let file = File::create("CON").map_err(|e| Error::io("cannot write to", &name, e))?;
        Ok(OutputFile {
            name,
            route: Route::InPlace(BufWriter::with_capacity(BUFFER_SIZE, file)),
        })
    }

    fn atomic(name: String, target: PathBuf, keep: Option<std::fs::Permissions>) -> Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::Io {
                    action: "cannot create output file in",
                    path: dir,
                    source: io::Error::from_raw_os_error(20), // ENOTDIR
                });
            }
            Err(_) => return Err(Error::NotFound { path: dir }),
        }
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".to_string());
        let prefix = format!(".{base}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        // The mode given to open(2): the kernel takes the umask off, as for any new file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder
            .tempfile_in(&dir)
            .map_err(|e| Error::io("cannot create", &name, e))?;
        if let Some(perms) = keep {
            // Replacing a file keeps its mode, as writing into it would.
            let _ = tmp.as_file().set_permissions(perms);
        }
        Ok(OutputFile {
            name,
            route: Route::Atomic {
                target,
                writer: BufWriter::with_capacity(BUFFER_SIZE, tmp),
            },
        })
    }

    /// The path as given (`<stdout>` for `-`), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path the bytes end up at (the link's target for a symbolic link).
    pub fn target(&self) -> &Path {
        match &self.route {
            Route::Atomic { target, .. } => target,
            Route::InPlace(_) => Path::new(&self.name),
        }
    }

    /// Whether the output is written in place (stdout, a FIFO or a device) rather than renamed.
    pub fn in_place(&self) -> bool {
        matches!(self.route, Route::InPlace(_))
    }

    /// Overwrites `bytes` at `offset` (e.g. a count in a header written before it was known),
    /// then continues writing at the end. Fails on an output that cannot seek (stdout, a FIFO).
    pub fn patch(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        let name = self.name.clone();
        self.flush().at_path("cannot write", &name)?;
        self.seek(SeekFrom::Start(offset))
            .at_path("cannot seek in", &name)?;
        self.write_all(bytes).at_path("cannot write", &name)?;
        self.seek(SeekFrom::End(0))
            .at_path("cannot seek in", &name)?;
        Ok(())
    }

    /// Flushes, and for a regular file renames the temporary onto its target. (No fsync: like
    /// KenLM, kneser promises that a file at the target path is complete, not that it survives
    /// a power cut.)
    pub fn commit(self) -> Result<()> {
        let name = self.name;
        match self.route {
            Route::Atomic { target, writer } => {
                let tmp = writer
                    .into_inner()
                    .map_err(|e| Error::io("cannot write", &name, e.into_error()))?;
                tmp.persist(&target)
                    .map_err(|e| Error::io("cannot rename output to", &name, e.error))?;
                Ok(())
            }
            Route::InPlace(mut w) => w.flush().at_path("cannot write", &name),
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.route {
            Route::Atomic { writer, .. } => writer.write(buf),
            Route::InPlace(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.route {
            Route::Atomic { writer, .. } => writer.write_all(buf),
            Route::InPlace(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.route {
            Route::Atomic { writer, .. } => writer.flush(),
            Route::InPlace(w) => w.flush(),
        }
    }
}

/// Seeking (for headers written last, such as a `.npy` shape) flushes the buffer first.
impl Seek for OutputFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.route {
            Route::Atomic { writer, .. } => writer.seek(pos),
            Route::InPlace(w) => w.seek(pos),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("list the dir")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.arpa");
        {
            let mut f = OutputFile::create(&target).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert!(!target.exists());
        assert!(entries(dir.path()).is_empty());
        let mut f = OutputFile::create(&target).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(entries(dir.path()), ["out.arpa"]);
    }

    #[test]
    fn refuses_an_input_as_output_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus.txt");
        std::fs::write(&corpus, b"a b\n").unwrap();
        let alias = dir.path().join("alias.txt");
        std::os::unix::fs::symlink(&corpus, &alias).unwrap();
        for out in [&corpus, &alias] {
            let err = OutputFile::create_for(out, &[&corpus]).err().unwrap();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
            assert!(err.to_string().contains("is the input"), "{err}");
        }
        // A hard link is the same inode too.
        let hard = dir.path().join("hard.txt");
        std::fs::hard_link(&corpus, &hard).unwrap();
        assert!(OutputFile::create_for(&hard, &[&corpus]).is_err());
        assert_eq!(std::fs::read(&corpus).unwrap(), b"a b\n");
        // Another file is fine.
        OutputFile::create_for(dir.path().join("lm.arpa"), &[&corpus])
            .unwrap()
            .commit()
            .unwrap();
    }

    #[test]
    fn follows_a_symlink_to_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.arpa");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.arpa");
        std::os::unix::fs::symlink("real.arpa", &link).unwrap();
        let mut f = OutputFile::create(&link).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn writes_a_fifo_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        let mut f = OutputFile::create(&fifo).unwrap();
        assert!(f.in_place());
        f.write_all(b"through the pipe").unwrap();
        f.commit().unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        use std::os::unix::fs::FileTypeExt;
        assert!(kind.is_fifo(), "the FIFO was replaced");
    }

    #[test]
    fn a_device_is_written_in_place() {
        let mut f = OutputFile::create("/dev/null").unwrap();
        assert!(f.in_place());
        f.write_all(b"gone").unwrap();
        f.commit().unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn a_full_device_reports_enospc() {
        let mut f = OutputFile::create("/dev/full").unwrap();
        let _ = f.write_all(&[b'x'; 100]);
        let err = f.commit().err().unwrap();
        assert_eq!(err.errno(), Some(28), "{err}");
    }

    #[test]
    fn bad_paths_fail_before_work() {
        let dir = tempfile::tempdir().unwrap();
        let err = OutputFile::create("").err().unwrap();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        let err = OutputFile::create(dir.path()).err().unwrap();
        assert_eq!(err.errno(), Some(21), "{err}");
        let err = OutputFile::create(dir.path().join("no/such/out.arpa"))
            .err()
            .unwrap();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        let err = OutputFile::create(file.join("out")).err().unwrap();
        assert_eq!(err.errno(), Some(20), "{err}");
    }

    #[test]
    fn new_files_honour_the_umask_and_replaced_files_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        // The umask of this process, read back from a file created the ordinary way.
        let probe = dir.path().join("probe");
        File::create(&probe).unwrap();
        let expected = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        let target = dir.path().join("new.txt");
        OutputFile::create(&target).unwrap().commit().unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected);
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        OutputFile::create(&target).unwrap().commit().unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
