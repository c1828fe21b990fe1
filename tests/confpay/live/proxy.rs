//! A TCP proxy on 127.0.0.1 between confpayd and FreeSWITCH (either direction of the Event Socket):
//! it can cut every connection it carries, as a network fault or a restarting peer would, and it
//! records what flows through, one pair of byte streams per connection, for the differential test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The bytes of one proxied connection.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    /// From the connecting side (e.g. confpayd on an inbound connection).
    pub from_client: Vec<u8>,
    /// From the accepting side (e.g. FreeSWITCH on an inbound connection).
    pub from_server: Vec<u8>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    cuts: Arc<Mutex<CancellationToken>>,
    recordings: Arc<Mutex<Vec<Arc<Mutex<Recording>>>>>,
    stop: CancellationToken,
}

impl Proxy {
    /// Listens on `listen` (e.g. `127.0.0.1:0`) and forwards each connection to `upstream`.
    pub async fn start(listen: &str, upstream: &str) -> Proxy {
        let listener = TcpListener::bind(listen)
            .await
            .unwrap_or_else(|e| panic!("proxy bind {listen}: {e}"));
        let addr = listener.local_addr().expect("addr");
        let cuts = Arc::new(Mutex::new(CancellationToken::new()));
        let recordings = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let (c, r, s, up) = (
            cuts.clone(),
            recordings.clone(),
            stop.clone(),
            upstream.to_owned(),
        );
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = s.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((client, _)) = accepted else { continue };
                let Ok(server) = TcpStream::connect(&up).await else {
                    continue;
                };
                let rec = Arc::new(Mutex::new(Recording::default()));
                r.lock().unwrap().push(rec.clone());
                let cut = c.lock().unwrap().clone();
                tokio::spawn(carry(client, server, rec, cut, s.clone()));
            }
        });
        Proxy {
            addr,
            cuts,
            recordings,
            stop,
        }
    }

    /// Closes every connection carried now (new ones are carried again).
    pub fn cut(&self) {
        let mut cuts = self.cuts.lock().unwrap();
        cuts.cancel();
        *cuts = CancellationToken::new();
    }

    /// Everything recorded, one entry per connection, in accept order.
    pub fn recordings(&self) -> Vec<Recording> {
        self.recordings
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.lock().unwrap().clone())
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut();
    }
}

async fn carry(
    client: TcpStream,
    server: TcpStream,
    rec: Arc<Mutex<Recording>>,
    cut: CancellationToken,
    stop: CancellationToken,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = {
        let rec = rec.clone();
        async move {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = cr.read(&mut buf).await {
                if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                rec.lock().unwrap().from_client.extend_from_slice(&buf[..n]);
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = sr.read(&mut buf).await {
            if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            rec.lock().unwrap().from_server.extend_from_slice(&buf[..n]);
        }
    };
    tokio::select! {
        _ = cut.cancelled() => {}
        _ = stop.cancelled() => {}
        _ = async { tokio::join!(up, down) } => {}
    }
}
