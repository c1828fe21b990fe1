//! confpay: Conference Pay for FreeSWITCH.
//!
//! Module map (one concept per file):
//!
//! | module | job |
//! |---|---|
//! | [`esl`] | the Event Socket protocol: frames, parser, commands, codec, inbound client, outbound server |
//! | [`pay`] | the Conference Pay flow: pure session state machine and its commands |
//! | [`secret`] | `Secret`: a password/token masked in Debug/Display, zeroized on drop |
pub mod esl;
pub mod pay;
pub mod secret;
