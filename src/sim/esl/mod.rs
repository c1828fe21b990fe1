//! The simulator's Event Socket side: what FreeSWITCH's mod_event_socket does on the wire.
//!
//! | module | job |
//! |---|---|
//! | [`urlencode`] | `switch_url_encode`, byte for byte |
//! | [`serialize`] | events as plain / json / xml text |
//! | [`frames`] | every frame the server writes (replies, api responses, events, notices) |
//! | [`request`] | reading one client command (`read_packet`) |
//! | [`subscription`] | `event`/`nixevent`/`noevents`/`filter`/`myevents` state and delivery decision |
pub mod frames;
pub mod request;
pub mod serialize;
pub mod subscription;
pub mod urlencode;
