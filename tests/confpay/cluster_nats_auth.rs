//! Cluster mode against a NATS server that wants credentials or TLS: the daemon connects with the
//! right ones (two nodes see each other); with wrong or missing ones it runs degraded and its log
//! says why in one line, never showing a secret. Certificates are made here (`rcgen`).

use crate::cluster_harness::*;
use crate::http_harness::get;
use confpay::config::Config;
use confpay::secret::Secret;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

const TOKEN: &str = "nats-token-SECRET-4f1d";
const WRONG: &str = "nats-token-WRONG-77aa";

/// A node whose `[cluster]` is changed by `tweak`, logging into `logs`.
async fn node(
    name: &str,
    nats: &Nats,
    logs: &Logs,
    tweak: impl FnOnce(&mut Config) + 'static,
) -> Node {
    let extras = Extras {
        webhook: None,
        logs: Some(logs.clone()),
        tweak: Some(Box::new(tweak)),
    };
    Node::start_with(name, nats, extras).await
}

/// Waits until `node`'s `/healthz` says the cluster is `want`.
async fn cluster_is(node: &Node, want: &str) {
    let front = node.http();
    until(&format!("cluster {want}"), || async {
        (get(front, "/healthz", None).await.json()["cluster"] == want).then_some(())
    })
    .await;
}

/// Waits until `node` counts `n` reachable other nodes.
async fn hears(node: &Node, n: usize) {
    let front = node.http();
    let line = format!("confpay_cluster_nodes{{state=\"reachable\"}} {n}");
    until(&line.clone(), || async {
        get(front, "/metrics", None)
            .await
            .body
            .contains(&line)
            .then_some(())
    })
    .await;
}

/// Asserts no secret in `texts`.
fn masked(texts: &[&str], secrets: &[&str]) {
    for t in texts {
        for s in secrets {
            assert!(!t.contains(s), "secret {s} shown in: {t}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_authorization_right_and_wrong() {
    let args = vec!["--auth".to_owned(), TOKEN.to_owned()];
    let Some(nats) = Nats::start_with("token_authorization_right_and_wrong", args).await else {
        return;
    };
    let (logs_a, logs_b, logs_c) = (Logs::default(), Logs::default(), Logs::default());
    let a = node("a", &nats, &logs_a, |c| {
        c.cluster.token = Secret::new(TOKEN)
    })
    .await;
    let b = node("b", &nats, &logs_b, |c| {
        c.cluster.token = Secret::new(TOKEN)
    })
    .await;
    cluster_is(&a, "ok").await;
    hears(&a, 1).await;
    hears(&b, 1).await;

    // A wrong token: degraded, and the log says it is the credentials.
    let c = node("c", &nats, &logs_c, |c| {
        c.cluster.token = Secret::new(WRONG)
    })
    .await;
    cluster_is(&c, "degraded").await;
    until("c logs the refusal", || async {
        logs_c
            .text()
            .contains("NATS refused this node's credentials")
            .then_some(())
    })
    .await;
    // Said once, not at every attempt (one a second at most).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let said = logs_c
        .text()
        .matches("NATS refused this node's credentials")
        .count();
    assert_eq!(said, 1, "{}", logs_c.text());
    let metrics = get(c.http(), "/metrics", None).await.body;
    assert!(metrics.contains("confpay_cluster_connected 0"), "{metrics}");
    // C stays out: A still hears only B.
    hears(&a, 1).await;
    let debug = format!("{:?}", c.config);
    let rendered = confpay::config::render(&c.config);
    masked(
        &[
            &logs_a.text(),
            &logs_b.text(),
            &logs_c.text(),
            &debug,
            &rendered,
            &metrics,
        ],
        &[TOKEN, WRONG],
    );
}

/// A CA, and a certificate it signed for `127.0.0.1`/`localhost` (server) or a client, in `dir`.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("confpay-pki-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "confpay test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("CA");
        let write = |name: &str, text: String| std::fs::write(dir.join(name), text).expect("write");
        write("ca.pem", ca.pem());
        for who in ["server", "client"] {
            let key = rcgen::KeyPair::generate().expect("key");
            let mut p =
                rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
            p.subject_alt_names
                .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            p.distinguished_name.push(rcgen::DnType::CommonName, who);
            let cert = p.signed_by(&key, &ca).expect("sign");
            write(&format!("{who}.pem"), cert.pem());
            write(&format!("{who}-key.pem"), key.serialize_pem());
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        path_str(&self.dir.join(name))
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates() {
    let pki = Pki::new();
    let args = [
        "--tls",
        "--tlscert",
        &pki.path("server.pem"),
        "--tlskey",
        &pki.path("server-key.pem"),
        "--tlsverify",
        "--tlscacert",
        &pki.path("ca.pem"),
    ]
    .map(str::to_owned)
    .to_vec();
    let Some(nats) = Nats::start_with("tls_with_client_certificates", args).await else {
        return;
    };
    let tls = |with_client_cert: bool| {
        let (ca, cert, key) = (
            pki.path("ca.pem"),
            pki.path("client.pem"),
            pki.path("client-key.pem"),
        );
        move |c: &mut Config| {
            c.cluster.tls_ca_file = ca;
            if with_client_cert {
                c.cluster.tls_cert_file = cert;
                c.cluster.tls_key_file = key;
            }
        }
    };
    let (logs_a, logs_b, logs_c) = (Logs::default(), Logs::default(), Logs::default());
    let a = node("a", &nats, &logs_a, tls(true)).await;
    let b = node("b", &nats, &logs_b, tls(true)).await;
    cluster_is(&a, "ok").await;
    hears(&a, 1).await;
    hears(&b, 1).await;
    // Without a client certificate the server closes the connection: degraded, and the log line
    // points at the client certificate.
    let c = node("c", &nats, &logs_c, tls(false)).await;
    cluster_is(&c, "degraded").await;
    until("c logs the TLS failure", || async {
        logs_c
            .text()
            .contains("cannot connect to NATS: the connection failed or was closed")
            .then_some(())
    })
    .await;
    // A CA that did not sign the server's certificate: the handshake fails (the client reports it
    // as an I/O error), and the line points at the CA too.
    let other = Pki::new();
    let logs_d = Logs::default();
    let wrong_ca = other.path("ca.pem");
    let d = node("d", &nats, &logs_d, move |c| {
        c.cluster.tls_ca_file = wrong_ca
    })
    .await;
    cluster_is(&d, "degraded").await;
    until("d logs the TLS failure", || async {
        logs_d
            .text()
            .contains("cluster.tls_ca_file is the CA that signed the server's certificate")
            .then_some(())
    })
    .await;
    hears(&a, 1).await;
}
