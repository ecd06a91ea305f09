//! One client connection to one broker: requests are pipelined (several in flight, up to
//! the caller), responses come back in request order (Kafka guarantees it per
//! connection) and are matched to their requests by correlation id. On connect the client
//! negotiates versions with ApiVersions (KIP-35), retrying at the version the broker
//! names when it does not know ours (KIP-511).
//!
//! There are no client-side timeouts at this level: a call waits until the broker answers
//! or the connection fails.

#![warn(missing_docs)]

use crate::error::Error;
use crate::protocol::frame::{decode_response_as, encode_request, peek_correlation_id};
use crate::protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, Request, RequestHeader,
};
use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The client's software name and version, sent in ApiVersions v3+ (KIP-511).
const SOFTWARE_NAME: &str = "tidelog-rust";
const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

struct Pending {
    correlation_id: i32,
    reply: oneshot::Sender<Result<Bytes, Error>>,
}

type PendingQueue = Arc<Mutex<Option<VecDeque<Pending>>>>;

/// A connection to one broker. Cheap to share: clone the `Arc`. A background task reads
/// the responses; once the connection fails it stays closed ([`BrokerConnection::is_open`]
/// is false) and every call expecting a response fails with [`Error::Disconnected`]; open
/// a new one.
pub struct BrokerConnection {
    address: String,
    client_id: String,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    /// Requests awaiting responses, in the order they were written; `None` once closed.
    pending: PendingQueue,
    next_correlation_id: AtomicI32,
    /// The broker's (min, max) version of each API it advertises.
    broker_versions: HashMap<i16, (i16, i16)>,
}

fn lock(pending: &PendingQueue) -> std::sync::MutexGuard<'_, Option<VecDeque<Pending>>> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads responses and hands each to the request that waits for it; fails everything
/// pending when the connection ends.
async fn read_responses(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    pending: PendingQueue,
    address: String,
) {
    let error = loop {
        let mut size = [0u8; 4];
        if let Err(source) = reader.read_exact(&mut size).await {
            break if source.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::Disconnected {
                    broker: address.clone(),
                }
            } else {
                Error::Io {
                    broker: address.clone(),
                    source,
                }
            };
        }
        let size = i32::from_be_bytes(size).max(0) as usize;
        let mut frame = BytesMut::zeroed(size);
        if let Err(source) = reader.read_exact(&mut frame).await {
            break Error::Io {
                broker: address.clone(),
                source,
            };
        }
        let frame = frame.freeze();
        let next = lock(&pending).as_mut().and_then(VecDeque::pop_front);
        let Some(next) = next else {
            break Error::Disconnected {
                broker: address.clone(),
            };
        };
        match peek_correlation_id(&frame) {
            Ok(id) if id == next.correlation_id => {
                let _ = next.reply.send(Ok(frame));
            }
            _ => {
                let _ = next.reply.send(Err(Error::Disconnected {
                    broker: address.clone(),
                }));
                break Error::Disconnected {
                    broker: address.clone(),
                };
            }
        }
    };
    tracing::debug!(broker = %address, %error, "connection closed");
    if let Some(waiting) = lock(&pending).take() {
        for request in waiting {
            let _ = request.reply.send(Err(Error::Disconnected {
                broker: address.clone(),
            }));
        }
    }
}

impl BrokerConnection {
    /// Connects to `address` (`host:port`, or `[v6addr]:port`) with TCP_NODELAY, and
    /// negotiates API versions (ApiVersions, KIP-35/KIP-511). `client_id` is sent in every
    /// request header.
    ///
    /// # Panics
    /// Outside a tokio runtime, where it cannot connect or spawn its response reader.
    ///
    /// # Errors
    /// - [`Error::Io`] if the broker cannot be reached (no connect timeout other than the
    ///   OS's).
    /// - [`Error::Disconnected`] if it closes the connection before answering, or
    ///   [`Error::Decode`] if its answer cannot be read.
    /// - [`Error::Kafka`] with the ApiVersions error code (UNSUPPORTED_VERSION if even the
    ///   version the broker names in its first answer is refused).
    /// - [`Error::UnsupportedApi`] if, asked at the version it named, the broker names a
    ///   lower one again.
    pub async fn connect(address: &str, client_id: &str) -> Result<Arc<BrokerConnection>, Error> {
        let io = |source| Error::Io {
            broker: address.to_string(),
            source,
        };
        let stream = TcpStream::connect(address).await.map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let (reader, writer) = stream.into_split();
        let pending: PendingQueue = Arc::new(Mutex::new(Some(VecDeque::new())));
        tokio::spawn(read_responses(reader, pending.clone(), address.to_string()));
        let mut connection = BrokerConnection {
            address: address.to_string(),
            client_id: client_id.to_string(),
            writer: tokio::sync::Mutex::new(writer),
            pending,
            next_correlation_id: AtomicI32::new(0),
            broker_versions: HashMap::new(),
        };
        connection.broker_versions = connection.negotiate_versions().await?;
        Ok(Arc::new(connection))
    }

    async fn negotiate_versions(&self) -> Result<HashMap<i16, (i16, i16)>, Error> {
        let request = ApiVersionsRequest {
            client_software_name: SOFTWARE_NAME.into(),
            client_software_version: SOFTWARE_VERSION.into(),
        };
        let mut version = ApiKey::ApiVersions.versions().max;
        for _ in 0..2 {
            let frame = self
                .round_trip(
                    ApiKey::ApiVersions as i16,
                    version,
                    request.clone().into(),
                    true,
                )
                .await?;
            // A broker that does not know `version` answers in v0 (KIP-511).
            let response = decode_response_as::<ApiVersionsResponse>(version, frame.clone())
                .or_else(|_| decode_response_as::<ApiVersionsResponse>(0, frame))
                .map_err(|source| Error::Decode {
                    broker: self.address.clone(),
                    source,
                })?
                .1;
            let ranges: HashMap<i16, (i16, i16)> = response
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            if response.error_code == crate::error::ErrorCode::UnsupportedVersion.code() {
                match ranges.get(&(ApiKey::ApiVersions as i16)) {
                    Some(&(_, max)) if max < version => {
                        version = max;
                        continue;
                    }
                    _ => {}
                }
            }
            Error::check(response.error_code, None)?;
            return Ok(ranges);
        }
        Err(Error::UnsupportedApi {
            broker: self.address.clone(),
            api: "ApiVersions",
        })
    }

    /// The broker's address, as passed to [`BrokerConnection::connect`].
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The highest version of `api_key` both this client and the broker speak, at least
    /// `min_version` (the lowest this client is willing to use). A version that tidelog's
    /// schemas mark unstable (`latestVersionUnstable`) is never chosen.
    ///
    /// # Errors
    /// [`Error::UnsupportedApi`] when the broker does not advertise the API or the ranges
    /// do not overlap at or above `min_version`.
    pub fn version_for(&self, api_key: ApiKey, min_version: i16) -> Result<i16, Error> {
        let ours = api_key.versions();
        let our_max = if api_key.latest_version_unstable() {
            ours.max - 1
        } else {
            ours.max
        };
        let unsupported = || Error::UnsupportedApi {
            broker: self.address.clone(),
            api: api_key.name(),
        };
        let &(broker_min, broker_max) = self
            .broker_versions
            .get(&(api_key as i16))
            .ok_or_else(unsupported)?;
        let version = our_max.min(broker_max);
        if version < broker_min.max(min_version).max(ours.min) {
            return Err(unsupported());
        }
        Ok(version)
    }

    /// Writes one request; with `expect_response`, returns the response frame.
    async fn round_trip(
        &self,
        api_key: i16,
        version: i16,
        body: crate::protocol::messages::RequestKind,
        expect_response: bool,
    ) -> Result<Bytes, Error> {
        let mut writer = self.writer.lock().await;
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader {
            request_api_key: api_key,
            request_api_version: version,
            correlation_id,
            client_id: Some(self.client_id.clone()),
        };
        let mut buf = BytesMut::new();
        encode_request(&mut buf, &header, &body)?;
        let (reply, response) = oneshot::channel();
        if expect_response {
            // Queued under the writer lock, so the queue order is the write order.
            match lock(&self.pending).as_mut() {
                Some(queue) => queue.push_back(Pending {
                    correlation_id,
                    reply,
                }),
                None => {
                    return Err(Error::Disconnected {
                        broker: self.address.clone(),
                    })
                }
            }
        }
        writer.write_all(&buf).await.map_err(|source| Error::Io {
            broker: self.address.clone(),
            source,
        })?;
        drop(writer);
        if !expect_response {
            return Ok(Bytes::new());
        }
        response.await.unwrap_or_else(|_| {
            Err(Error::Disconnected {
                broker: self.address.clone(),
            })
        })
    }

    /// Sends `request` at `version` (which the caller has checked the broker supports, see
    /// [`BrokerConnection::version_for`]) and waits for its response, however long that
    /// takes.
    ///
    /// Cancelling the returned future while the request is being written can leave a
    /// partial request on the connection, which the broker will then reject or close.
    ///
    /// # Errors
    /// - [`Error::Encode`] if `request` cannot be written at `version`.
    /// - [`Error::Io`] if writing fails, [`Error::Disconnected`] if the connection is or
    ///   becomes closed before the response arrives.
    /// - [`Error::Decode`] for a malformed response.
    ///
    /// Kafka error codes inside the response are the caller's to interpret.
    pub async fn send<R: Request>(&self, request: R, version: i16) -> Result<R::Response, Error> {
        let frame = self
            .round_trip(R::API_KEY as i16, version, request.into(), true)
            .await?;
        decode_response_as::<R::Response>(version, frame)
            .map(|(_, response)| response)
            .map_err(|source| Error::Decode {
                broker: self.address.clone(),
                source,
            })
    }

    /// Sends `request` at the best version negotiated with the broker (at least
    /// `min_version`) and waits for its response. Returns the version used with the
    /// response.
    ///
    /// # Errors
    /// As [`BrokerConnection::send`], and [`Error::UnsupportedApi`] from
    /// [`BrokerConnection::version_for`].
    pub async fn call<R: Request>(
        &self,
        request: R,
        min_version: i16,
    ) -> Result<(i16, R::Response), Error> {
        let version = self.version_for(R::API_KEY, min_version)?;
        Ok((version, self.send(request, version).await?))
    }

    /// Sends a request that gets no response (a Produce with acks=0) and returns once it is
    /// written. Only for such requests: a response to it would not match the next
    /// request's correlation id, and the connection would be closed.
    ///
    /// # Errors
    /// [`Error::Encode`] if it cannot be encoded at `version`; [`Error::Io`] if it cannot
    /// be written.
    pub async fn send_without_response<R: Request>(
        &self,
        request: R,
        version: i16,
    ) -> Result<(), Error> {
        self.round_trip(R::API_KEY as i16, version, request.into(), false)
            .await
            .map(|_| ())
    }

    /// Whether the connection is still usable: false once the response reader has
    /// stopped (the broker closed the connection, a read failed, or a response came out
    /// of order). A failed write alone does not close it.
    pub fn is_open(&self) -> bool {
        lock(&self.pending).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::{EmbeddedBroker, EmbeddedOptions};
    use crate::protocol::messages::MetadataRequest;

    #[tokio::test]
    async fn negotiates_versions_and_pipelines_requests_in_order() {
        let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
        let connection = BrokerConnection::connect(broker.bootstrap_servers(), "test")
            .await
            .unwrap();
        assert_eq!(connection.version_for(ApiKey::Metadata, 0).unwrap(), 12);
        assert!(matches!(
            connection.version_for(ApiKey::Vote, 0),
            Err(Error::UnsupportedApi { .. })
        ));
        // 20 requests in flight at once, each answered with its own response.
        let names: Vec<String> = (0..20).map(|i| format!("topic-{i}")).collect();
        let calls = names.iter().map(|name| {
            let connection = connection.clone();
            let request = MetadataRequest {
                topics: Some(vec![
                    crate::protocol::messages::metadata_request::MetadataRequestTopic {
                        name: Some(name.clone()),
                        ..Default::default()
                    },
                ]),
                allow_auto_topic_creation: true,
                ..Default::default()
            };
            tokio::spawn(async move { connection.call(request, 0).await.unwrap().1 })
        });
        let handles: Vec<_> = calls.collect();
        for (name, handle) in names.iter().zip(handles) {
            assert_eq!(
                handle.await.unwrap().topics[0].name.as_deref(),
                Some(name.as_str())
            );
        }
        drop(broker);
    }
}
