//! A protocol-faithful FreeSWITCH stand-in for tests.
pub mod esl;
