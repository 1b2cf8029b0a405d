//! The ARPA's destination, written by a background thread so that formatting and writing
//! overlap.
//!
//! Input: blocks of formatted ARPA text, in order ([`ArpaSink::send`], or small writes through
//! [`std::io::Write`]). Output: the same bytes at an [`OutputFile`](crate::io::OutputFile) (renamed into place by
//! [`ArpaSink::finish`]) or a caller's writer. Memory: at most [`QUEUE`] blocks in flight, each
//! about [`BLOCK_BYTES`]; written blocks are handed back for reuse ([`ArpaSink::buffer`]).
//! An error of the writer thread is returned by the next send or by `finish`; dropping the sink
//! unfinished (an error elsewhere, Ctrl-C) stops the thread and removes the partial file.
//!
//! With [`Output::Grams`] the sink takes records instead of text: the writers of n-gram lines ask
//! [`ArpaSink::grams`] and hand their n-grams to it unformatted
//! ([`crate::arpa::records`]); the header goes as counts ([`ArpaSink::counts`]); the text of the
//! ARPA's structure (section lines, `\end\`, `--verbose_header` comments) written through
//! [`std::io::Write`] carries nothing the records do not, and is dropped. The consumer checks
//! each order's count against the header, so n-grams lost as text would be an error.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::arpa::records::GramSink;
use crate::error::{Error, Result};
use crate::io::Destination;

/// Blocks queued for the writer thread at most.
pub const QUEUE: usize = 16;
/// Typical size of a block (small writes are gathered up to this size).
pub const BLOCK_BYTES: usize = 1 << 18;

/// Where the ARPA goes (the one output enum, [`crate::io::Output`]).
pub use crate::io::Output;

type Outcome = (Destination, io::Result<()>);

/// An [`Output`] fed through a bounded queue by a writer thread; see the module doc.
pub struct ArpaSink {
    tx: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    handle: Option<JoinHandle<Outcome>>,
    cur: Vec<u8>,
    name: String,
    /// Set with [`Output::Grams`]: records go here, and no text is written.
    grams: Option<Box<dyn GramSink>>,
}

impl ArpaSink {
    /// Claims `output` (a bad path, or one of `inputs` as the output, fails here, before any
    /// work) and starts the writer thread.
    pub fn new(output: Output, inputs: &[PathBuf]) -> Result<Self> {
        if let Output::Grams(grams) = output {
            let (_, spare) = sync_channel::<Vec<u8>>(0);
            return Ok(ArpaSink {
                tx: None,
                spare,
                handle: None,
                cur: Vec::new(),
                name: "the binary model".into(),
                grams: Some(grams),
            });
        }
        let target = output.open(inputs)?;
        let name = target.name().to_string();
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let (spare_tx, spare) = sync_channel::<Vec<u8>>(QUEUE);
        let handle = std::thread::Builder::new()
            .name("kneser-arpa-writer".into())
            .spawn(move || {
                let mut target = target;
                for mut block in rx {
                    if let Err(e) = target.write_all(&block) {
                        return (target, Err(e));
                    }
                    block.clear();
                    // A full spare queue just frees the block.
                    let _ = spare_tx.try_send(block);
                }
                (target, Ok(()))
            })
            .map_err(|e| Error::thread_spawn("writer", e))?;
        Ok(ArpaSink {
            tx: Some(tx),
            spare,
            handle: Some(handle),
            cur: Vec::with_capacity(BLOCK_BYTES),
            name,
            grams: None,
        })
    }

    /// The record sink, when the output takes records instead of text (see the module doc).
    pub fn grams(&mut self) -> Option<&mut dyn GramSink> {
        match &mut self.grams {
            Some(g) => Some(g.as_mut()),
            None => None,
        }
    }

    /// Hands the header's counts to the record sink; `false` (nothing done) for a text output.
    pub fn counts(&mut self, counts: &[u64]) -> Result<bool> {
        match self.grams() {
            Some(g) => g.header(counts).map(|()| true),
            None => Ok(false),
        }
    }

    /// The output's name in messages (its path, or `<stdout>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An empty buffer to format a block into (a written one when available).
    pub fn buffer(&mut self) -> Vec<u8> {
        self.spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BLOCK_BYTES))
    }

    /// Queues `block` after everything written before it.
    pub fn send(&mut self, block: Vec<u8>) -> Result<()> {
        if self.grams.is_some() {
            return Err(Error::Internal(
                "ARPA text sent to an output that takes n-gram records".into(),
            ));
        }
        if !self.cur.is_empty() {
            let cur = std::mem::take(&mut self.cur);
            self.push(cur)?;
        }
        self.push(block)
    }

    fn push(&mut self, block: Vec<u8>) -> Result<()> {
        if block.is_empty() {
            return Ok(());
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(block).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.failure())
        }
    }

    /// The writer thread's error, once it has stopped.
    fn failure(&mut self) -> Error {
        self.tx = None;
        match self.handle.take().map(|h| h.join()) {
            Some(Ok((_, Err(e)))) => Error::io("cannot write", &self.name, e),
            Some(Err(_)) => Error::Internal("the ARPA writer thread panicked".into()),
            _ => Error::Internal("the ARPA writer thread stopped".into()),
        }
    }

    /// Writes what is queued and commits the output.
    pub fn finish(mut self) -> Result<()> {
        if let Some(grams) = self.grams.take() {
            return grams.finish();
        }
        let cur = std::mem::take(&mut self.cur);
        self.push(cur)?;
        self.tx = None;
        match self.handle.take().map(|h| h.join()) {
            Some(Ok((target, Ok(())))) => target.finish(),
            Some(Ok((_, Err(e)))) => Err(Error::io("cannot write", &self.name, e)),
            _ => Err(Error::Internal("the ARPA writer thread panicked".into())),
        }
    }
}

impl Write for ArpaSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.grams.is_some() {
            // Structure text only (see the module doc).
            return Ok(());
        }
        self.cur.extend_from_slice(buf);
        if self.cur.len() >= BLOCK_BYTES {
            let cur = std::mem::replace(&mut self.cur, Vec::with_capacity(BLOCK_BYTES));
            self.push(cur).map_err(io::Error::other)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ArpaSink {
    fn drop(&mut self) {
        // Closing the queue stops the thread; the unfinished target is dropped with it (an
        // AtomicFile removes its temporary).
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
