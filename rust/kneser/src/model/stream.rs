//! A KenLM binary written straight from ARPA text as it is produced (by the estimator), with no
//! ARPA file in between.
//!
//! Input: the ARPA text, written in blocks to a [`BinaryWriter`] (the estimator's
//! `Output::Writer`). Output: the binary file, probing or trie, the same bytes `build_binary`
//! writes for that ARPA. A reader thread parses the text as it arrives (through a bounded queue)
//! into the model's tables; the file is written, atomically, once the text ends.
//!
//! Memory: the model (probing tables, or the trie's n-grams) and at most [`QUEUE`] blocks of
//! text in flight; the text itself is never stored whole.

use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::{build, trie, BuildConfig, TrieOptions};
use crate::cancel::Cancel;
use crate::error::{Error, Result};

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
