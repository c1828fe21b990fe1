//! Load and throughput tooling, outside the product: the end-to-end ESL benchmark ([`e2e`] with its
//! [`blaster`]) and the concurrent-payment load tool ([`load`]: the daemon's parts in
//! [`daemon_side`], the simulator as a separate process in [`simproc`], the call and payment
//! [`driver`], per-call readiness in [`ready`], the [`report`]), with the `/proc` readings
//! ([`procstat`]) and the event→command latency probe ([`probe`]) they report.
//!
//! [`realswitch`]: the same payments against a real FreeSWITCH (capacity, CPU split).
//!
//! The command line of both: [`cli`].
//!
//! Entry points: `cargo bench -p confpay-load --bench esl_e2e` and `cargo run --release -p confpay-load --`.

pub mod agents;
pub mod blaster;
pub mod cli;
pub mod daemon_side;
pub mod driver;
pub mod e2e;
pub mod load;
pub mod probe;
pub mod procstat;
pub mod ready;
pub mod realswitch;
pub mod report;
pub mod simproc;
