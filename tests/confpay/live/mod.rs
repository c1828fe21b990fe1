//! The live suite: `confpayd`, run as the process an operator runs, against a real FreeSWITCH that has
//! the project's `freeswitch-dialplan/` files installed the way an operator installs them, plus the
//! suite's own parties and capture-service stand-in (`tests/confpay/live/freeswitch/`). It asserts what people
//! would notice: who hears whom, which digits reach whom, which channels are left.
//!
//! Ignored by default (the only ignored tests of this binary). CI runs it with `.ci/live-lane.sh`
//! (which starts the real switch it is given): `cargo test --locked --test confpay live:: --
//! --ignored --test-threads=1`; against any FreeSWITCH, see README "Live suite".
//!
//! | module | what |
//! |---|---|
//! | `switch` | the suite's own ESL connection: drives parties, records every event |
//! | `parties` | phones as loopback legs: key digits, say and hear tones |
//! | `daemon` | `confpayd` as a process: config file, trace log, SIGKILL, restart |
//! | `api` | the daemon's HTTP API |
//! | `normalise` | recorded ESL streams → per-leg sequences of events and replies, UUIDs as roles |
//! | `proxy` | a TCP proxy that cuts and records ESL connections |
//! | `world` | one test's world and the checks every payment must pass |
//! | `tones` | a WAV reader and a Goertzel DTMF detector, for recordings |
//! | `dialplan_calls` | calls handed over by the shipped socket extension |
//! | `failures` | capture busy / no answer, hang-ups under both policies, cancel, two in a row |
//! | `faults` | confpayd killed and restarted, ESL cut (proxy), mod_event_socket reloaded, FreeSWITCH restarted |
//! | `differential` | the same call on the simulator and on the real switch: what confpayd received, compared |
//! | `intruder` | another ESL client injecting forged and malformed events during a payment |
//! | `agent_tokens` | a platform-signed agent token reaches that agent's call only |
//! | `attach` | ordinary bridged calls taken over, by customer UUID, agent UUID and agent ID |
//! | `webhooks` | signed webhooks: receiver down, confpayd killed and restarted, each delivered once |
//! | `recordings` | a call recorded on the customer's leg and in the conference: the files hold the conversation, no tone of the capture |

mod api;
mod daemon;
mod normalise;
mod parties;
mod proxy;
mod switch;
mod tones;
mod world;

mod agent_tokens;
mod attach;
mod dialplan_calls;
mod differential;
mod failures;
mod faults;
mod hostile_peer;
mod hostile_web;
mod intruder;
mod recordings;
mod webhooks;
