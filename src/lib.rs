//! confpay: Conference Pay for FreeSWITCH.
//!
//! Module map (one concept per file):
//!
//! | module | job |
//! |---|---|
//! | [`esl`] | the Event Socket protocol: frames, parser, commands, codec, inbound client, outbound server |
//! | [`secret`] | `Secret`: a password/token masked in Debug/Display, zeroized on drop |
pub mod esl;
pub mod secret;
