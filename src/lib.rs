//! confpay: Conference Pay for FreeSWITCH.
//!
//! Module map (one concept per file):
//!
//! | module | job |
//! |---|---|
//! | [`esl`] | the Event Socket protocol: frames, parser, commands, codec, inbound client, outbound server |
pub mod esl;
pub mod sim;
