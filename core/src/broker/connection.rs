//! One client connection: frames in, responses out, in request order.
//!
//! Requests are handled one after another as they arrive, so their effects (appends)
//! happen in request order. A handler that must wait (a long-polling fetch, an acks=all
//! produce, an fsync) hands back a future; it runs as its own task while later requests
//! are handled, and the writer sends responses strictly in request order. At most
//! `MAX_IN_FLIGHT` responses may be pending per connection, so a client that does not
//! read its responses stops being read from: memory per connection stays bounded.

use super::handlers::{self, Outcome, Reply};
use super::state::BrokerState;
use crate::protocol::frame::encode_response;
use crate::protocol::messages::ResponseKind;
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const MAX_IN_FLIGHT: usize = 64;
/// Read buffer allocated up front for a frame, and the step by which it grows (bytes).
const INITIAL_FRAME_CAPACITY: usize = 64 * 1024;

/// A response on its way to the writer.
enum Pending {
    Ready(Bytes),
    Deferred(JoinHandle<Option<Bytes>>),
}

fn encode(correlation_id: i32, version: i16, body: &ResponseKind) -> Option<Bytes> {
    let mut buf = BytesMut::new();
    match encode_response(&mut buf, correlation_id, version, body) {
        Ok(()) => Some(buf.freeze()),
        Err(error) => {
            tracing::error!(api = ?body.api_key(), version, %error, "cannot encode a response; closing the connection");
            None
        }
    }
}

/// Reads one size-prefixed frame. `Ok(None)` at a clean end of stream.
async fn read_frame<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    max_bytes: usize,
) -> std::io::Result<Option<Bytes>> {
    let mut size = [0u8; 4];
    match reader.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let size = i32::from_be_bytes(size);
    if size < 0 || size as usize > max_bytes {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("request frame of {size} bytes; socket.request.max.bytes is {max_bytes}"),
        ));
    }
    // Grow the buffer as bytes arrive: a peer that declares a large frame and sends
    // nothing must not make us allocate the declared size.
    let size = size as usize;
    let mut frame = BytesMut::with_capacity(size.min(INITIAL_FRAME_CAPACITY));
    while frame.len() < size {
        frame.reserve((size - frame.len()).min(INITIAL_FRAME_CAPACITY));
        let limit = size - frame.len();
        let read = (&mut *reader)
            .take(limit as u64)
            .read_buf(&mut frame)
            .await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(Some(frame.freeze()))
}

async fn write_responses(writer: OwnedWriteHalf, mut pending: mpsc::Receiver<Pending>) {
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    while let Some(next) = pending.recv().await {
        let bytes = match next {
            Pending::Ready(bytes) => Some(bytes),
            Pending::Deferred(task) => {
                // Send what is written before waiting: a long poll must not hold back the
                // responses ahead of it.
                if !task.is_finished() && writer.flush().await.is_err() {
                    return;
                }
                task.await.ok().flatten()
            }
        };
        let Some(bytes) = bytes else { return };
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
        // Coalesce responses that are already waiting into one write.
        if pending.is_empty() && writer.flush().await.is_err() {
            return;
        }
    }
    let _ = writer.flush().await;
}

/// Serves `stream` until the client disconnects, sends a frame we must close on, or
/// the broker shuts down.
pub async fn serve(
    state: Arc<BrokerState>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let max_frame = state.config.socket_request_max_bytes();
    let (read_half, write_half) = stream.into_split();
    let (queue, pending) = mpsc::channel(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_responses(write_half, pending));
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    loop {
        let frame = tokio::select! {
            frame = read_frame(&mut reader, max_frame) => frame,
            _ = shutdown.changed() => break,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(%peer, %error, "closing connection");
                break;
            }
        };
        let next = match handlers::handle(&state, frame, peer) {
            Outcome::Respond {
                correlation_id,
                version,
                reply,
            } => match reply {
                Reply::Now(body) => match encode(correlation_id, version, &body) {
                    Some(bytes) => Pending::Ready(bytes),
                    None => break,
                },
                Reply::Later(future) => Pending::Deferred(tokio::spawn(async move {
                    encode(correlation_id, version, &future.await)
                })),
            },
            Outcome::NoResponse => continue,
            Outcome::Close(reason) => {
                tracing::warn!(%peer, %reason, "closing connection");
                break;
            }
        };
        // A client that stops reading fills the queue; shutdown must not wait for it.
        let sent = tokio::select! {
            sent = queue.send(next) => sent.is_ok(),
            _ = shutdown.changed() => false,
        };
        if !sent {
            break;
        }
    }
    drop(queue);
    if *shutdown.borrow() {
        // Shutting down: pending responses (long polls, a client that does not read) are
        // dropped rather than waited for.
        writer.abort();
    } else {
        let _ = writer.await;
    }
}
