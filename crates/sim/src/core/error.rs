//! The errors of driving the core directly (a test or the ESL layer naming a channel or extension).

/// What can go wrong when the ESL layer or a test drives the core directly.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SimError {
    #[error("no such channel {uuid}")]
    NoSuchChannel { uuid: String },
    #[error("no extension {destination} in the dialplan")]
    NoSuchExtension { destination: String },
    #[error("channel {uuid} has no far-end party")]
    NoParty { uuid: String },
}
