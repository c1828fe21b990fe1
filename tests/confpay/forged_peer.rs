//! A process that is not FreeSWITCH posing as FreeSWITCH's `socket` application: it connects to
//! the daemon's outbound port and answers `connect` with channel data it made up, then `+OK` to
//! everything. Used against the simulator and against the real switch.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the forged peer claims in its `connect` reply.
pub struct Forged<'a> {
    pub uuid: &'a str,
    pub agent_dial: &'a str,
    pub agent_id: &'a str,
    /// `confpay_nonce`: a forger does not know the channel's; `None` sends none.
    pub nonce: Option<&'a str>,
}

/// A nonce a forger might send: any value but the channel's own.
pub const GUESSED_NONCE: &str = "9e1f3a52-5f0c-4c55-a1f4-3c2b0d8e7a61";

/// Reads one command (up to the blank line); `None` once the daemon closed the socket.
async fn read_command(sock: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\n\n") {
        match sock.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            Ok(_) | Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// FreeSWITCH's answer to `cmd`, as far as a forger can give it: `+OK` to everything.
fn answer(cmd: &str) -> String {
    if cmd.starts_with("api ") {
        "Content-Type: api/response\nContent-Length: 4\n\n+OK\n".to_owned()
    } else if cmd.starts_with("bgapi ") {
        let job = "7f4de4bc-17d7-11dd-b7a0-db4edd065621";
        format!("Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job}\nJob-UUID: {job}\n\n")
    } else {
        "Content-Type: command/reply\nReply-Text: +OK\n\n".to_owned()
    }
}

/// Plays FreeSWITCH's side of an outbound socket with forged channel data, answering `+OK` to
/// everything, until the daemon closes the socket (or 5 s passed). Returns the commands received.
pub async fn forge(outbound: SocketAddr, f: &Forged<'_>) -> Vec<String> {
    let mut sock = TcpStream::connect(outbound).await.expect("dial daemon");
    let mut seen = Vec::new();
    let session = async {
        let connect = read_command(&mut sock).await.expect("connect");
        assert_eq!(connect, "connect\n\n");
        let nonce = f
            .nonce
            .map(|n| format!("variable_confpay_nonce: {n}\n"))
            .unwrap_or_default();
        let data = format!(
            "Content-Type: command/reply\nReply-Text: +OK\nSocket-Mode: async\nControl: full\n\
             Event-Name: CHANNEL_DATA\nUnique-ID: {}\nChannel-Name: sofia/internal/1001@127.0.0.1\n\
             Caller-Caller-ID-Number: 1001\nvariable_confpay_agent_dial: {}\n\
             variable_confpay_agent_id: {}\n{nonce}\n",
            f.uuid, f.agent_dial, f.agent_id
        );
        sock.write_all(data.as_bytes())
            .await
            .expect("send channel data");
        while let Some(cmd) = read_command(&mut sock).await {
            let reply = answer(&cmd);
            seen.push(cmd);
            if sock.write_all(reply.as_bytes()).await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), session).await;
    seen
}
