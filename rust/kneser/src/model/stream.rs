//! KenLM binary files written straight from estimation, with no ARPA file in between.
//!
//! Two routes, both giving the bytes `build_binary` writes for the ARPA kneser would print:
//!
//! * Records ([`binary_output`], for `kneser build --binary` and `kneser.estimate(binary=...)`):
//!   the estimator hands its n-grams unformatted ([`crate::arpa::records`]: order, words, log10 p
//!   and backoff as f32, in ARPA order) through a bounded queue to a builder thread, which
//!   replays them into the probing builder or the trie collector, the same visitors the ARPA
//!   reader feeds: nothing is formatted or parsed. The values pass through
//!   [`printed`](crate::arpa::writer::printed), the print-parse rounding of the float printer
//!   (which changes only `-0.0`), so the builder sees the f32 it would read from the text.
//! * Text ([`binary_writer`], for the partitioned estimate's concatenation, whose pieces are
//!   ARPA text files already): the text, written in blocks, is parsed by a reader thread.
//!
//! Either way the file is written, atomically, once the model is complete; an estimate that
//! fails or is interrupted leaves nothing at the path.
//!
//! Memory: the model being built (the probing image, or for the trie the probing image plus the
//! n-grams' ids and probabilities), plus at most [`QUEUE`] blocks in flight: record blocks of at
//! most 32,768 n-grams each (their words' bytes, 4 bytes per word, 12 per n-gram), or text
//! blocks of the sink's size. Neither the ARPA text nor a copy of the records is held whole.

use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::{build, trie, BuildConfig, TrieOptions};
use crate::arpa::reader::ArpaVisitor;
use crate::arpa::records::{GramBlock, GramSink, Replay};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::io::Output;

/// Blocks of text queued for the reader thread at most.
const QUEUE: usize = 16;

/// Which layout a [`BinaryWriter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryLayout {
    /// `build_binary probing` (multiplier 1.5).
    Probing,
    /// `build_binary trie` with these options.
    Trie(TrieOptions),
}

/// The writing end: ARPA text goes in; see the module doc.
pub struct BinaryWriter {
    tx: Option<SyncSender<Vec<u8>>>,
}

/// The reading end: waits for the binary file to be written.
pub struct BinaryJob {
    handle: JoinHandle<Result<()>>,
}

struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(block) => {
                    self.cur = block;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for BinaryWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "closed"))?;
        tx.send(buf.to_vec()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the binary model writer stopped (its error follows)",
            )
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BinaryWriter {
    /// Ends the text (the reader thread then writes the file).
    pub fn close(&mut self) {
        self.tx = None;
    }
}

/// Starts a reader thread that turns the ARPA text written to the returned writer into the
/// binary model at `path` (written when the text ends: dropping or closing the writer).
/// `name` names the text in error messages.
pub fn binary_writer(
    path: PathBuf,
    layout: BinaryLayout,
    include_vocab: bool,
    name: String,
) -> Result<(BinaryWriter, BinaryJob)> {
    if let BinaryLayout::Trie(options) = layout {
        options.check()?;
    }
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
    let handle = std::thread::Builder::new()
        .name("kneser-binary-writer".into())
        .spawn(move || -> Result<()> {
            let input = BufReader::with_capacity(
                1 << 16,
                ChannelReader {
                    rx,
                    cur: Vec::new(),
                    pos: 0,
                },
            );
            let config = BuildConfig::default();
            let cancel = Cancel::new();
            match layout {
                BinaryLayout::Probing => build::from_arpa_reader(input, &name, &config, &cancel)?
                    .save_binary_with(&path, include_vocab),
                BinaryLayout::Trie(options) => {
                    let grams = build::grams_from_reader(input, &name, &config, &cancel)?;
                    trie::save(&grams, &path, options, config.multiplier, include_vocab)
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the binary writer: {e}")))?;
    Ok((BinaryWriter { tx: Some(tx) }, BinaryJob { handle }))
}

impl BinaryJob {
    /// Waits for the file; its error, if any.
    pub fn wait(self) -> Result<()> {
        self.handle
            .join()
            .map_err(|_| Error::Internal("the binary model writer panicked".into()))?
    }
}

/// What the estimator sends the record builder thread.
enum Message {
    Header(Vec<u64>),
    Grams(GramBlock),
    /// The model is complete: write the file.
    End,
}

/// The estimator's end of the record route: a [`GramSink`] feeding the builder thread of
/// [`binary_output`].
struct GramWriter {
    tx: Option<SyncSender<Message>>,
    spare: Receiver<GramBlock>,
    handle: Option<JoinHandle<Result<()>>>,
}

impl GramWriter {
    fn send(&mut self, m: Message) -> Result<()> {
        let sent = match &self.tx {
            Some(tx) => tx.send(m).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The thread stopped: its error is the cause.
            Err(self
                .join()
                .err()
                .unwrap_or_else(|| Error::Internal("the binary model writer stopped early".into())))
        }
    }

    fn join(&mut self) -> Result<()> {
        self.tx = None;
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Internal("the binary model writer panicked".into())),
            None => Err(Error::Internal("the binary model writer stopped".into())),
        }
    }
}

impl GramSink for GramWriter {
    fn header(&mut self, counts: &[u64]) -> Result<()> {
        self.send(Message::Header(counts.to_vec()))
    }

    fn block(&mut self, order: usize) -> GramBlock {
        match self.spare.try_recv() {
            Ok(mut b) => {
                b.reset(order);
                b
            }
            Err(_) => GramBlock::new(order),
        }
    }

    fn grams(&mut self, block: GramBlock) -> Result<()> {
        self.send(Message::Grams(block))
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.send(Message::End)?;
        self.join()
    }
}

impl Drop for GramWriter {
    fn drop(&mut self) {
        // Closed without `End` (an error or Ctrl-C in the estimate): the thread writes nothing.
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The builder thread's side: replays the messages into `visitor` until `End`.
fn replay(
    rx: &Receiver<Message>,
    spare: &SyncSender<GramBlock>,
    name: &str,
    visitor: &mut dyn ArpaVisitor,
) -> Result<()> {
    let stopped = || Error::Interrupted;
    let counts = match rx.recv().map_err(|_| stopped())? {
        Message::Header(c) => c,
        _ => return Err(Error::Internal("n-gram records before the header".into())),
    };
    let mut r = Replay::start(name, &counts, visitor)?;
    loop {
        match rx.recv().map_err(|_| stopped())? {
            Message::Grams(b) => {
                r.block(&b, visitor)?;
                // A full spare queue just frees the block.
                let _ = spare.try_send(b);
            }
            Message::End => return r.end(visitor),
            Message::Header(_) => return Err(Error::Internal("a second header".into())),
        }
    }
}

/// An estimate's [`Output`] that builds the KenLM binary model at `path` from its records (no
/// ARPA text; see the module doc), written when the estimate finishes. Errors of the build (a
/// hash collision of two words, say) are the estimate's.
pub fn binary_output(path: PathBuf, layout: BinaryLayout, include_vocab: bool) -> Result<Output> {
    if let BinaryLayout::Trie(options) = layout {
        options.check()?;
    }
    let (tx, rx) = sync_channel::<Message>(QUEUE);
    let (spare_tx, spare) = sync_channel::<GramBlock>(QUEUE);
    let handle = std::thread::Builder::new()
        .name("kneser-binary-builder".into())
        .spawn(move || -> Result<()> {
            let name = "the estimated model";
            let config = BuildConfig::default();
            let feed = |v: &mut dyn ArpaVisitor| replay(&rx, &spare_tx, name, v);
            match layout {
                BinaryLayout::Probing => {
                    build::from_visits(name, &config, feed)?.save_binary_with(&path, include_vocab)
                }
                BinaryLayout::Trie(options) => {
                    let grams = build::grams_from_visits(name, &config, feed)?;
                    trie::save(&grams, &path, options, config.multiplier, include_vocab)
                }
            }
        })
        .map_err(|e| Error::thread_spawn("binary model builder", e))?;
    Ok(Output::Grams(Box::new(GramWriter {
        tx: Some(tx),
        spare,
        handle: Some(handle),
    })))
}
