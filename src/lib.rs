//! confpay: Conference Pay for FreeSWITCH.
//!
//! Module map (one concept per file):
//!
//! | module | job |
//! |---|---|
//! | [`esl`] | the Event Socket protocol: frames, parser, commands, codec, inbound client, outbound server |
//! | [`decode`] | `confpayd decode`: a raw ESL byte stream as one JSON line per frame |
pub mod decode;
pub mod esl;
pub mod sim;
