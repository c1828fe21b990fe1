//! Writing frames to a controller, with the write-side faults applied (slow drip, split frames,
//! reply delay).

use super::faults::{Faults, WriteMode};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The write half of one ESL connection.
pub struct FrameWriter<W> {
    inner: W,
    faults: Faults,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(inner: W, faults: Faults) -> Self {
        FrameWriter { inner, faults }
    }

    /// Writes one frame (honouring drip/split faults).
    pub async fn frame(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.faults.write_mode() {
            WriteMode::Whole => self.inner.write_all(bytes).await?,
            WriteMode::Drip(gap) => {
                for b in bytes {
                    self.inner.write_all(std::slice::from_ref(b)).await?;
                    self.inner.flush().await?;
                    tokio::time::sleep(gap).await;
                }
            }
            WriteMode::Split(gap) => {
                let mid = bytes.len() / 2;
                self.inner.write_all(&bytes[..mid]).await?;
                self.inner.flush().await?;
                tokio::time::sleep(gap).await;
                self.inner.write_all(&bytes[mid..]).await?;
            }
        }
        self.inner.flush().await
    }

    /// Writes a reply frame (`command/reply`, `api/response`), after the configured reply delay.
    pub async fn reply(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(d) = self.faults.reply_delay() {
            tokio::time::sleep(d).await;
        }
        self.frame(bytes).await
    }

    /// Closes the write side (FIN).
    pub async fn shutdown(&mut self) {
        // The peer may already be gone; closing is best effort.
        let _ = self.inner.shutdown().await;
    }
}
