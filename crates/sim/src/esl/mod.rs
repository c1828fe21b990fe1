//! The simulator's Event Socket side: what FreeSWITCH's mod_event_socket does on the wire.
//!
//! | module | job |
//! |---|---|
//! | [`serialize`] | events as plain / json / xml text (values encoded by `confpay_esl::url::url_encode`) |
//! | [`frames`] | every frame the server writes (replies, api responses, events, notices) |
//! | [`request`] | reading one client command (`read_packet`) |
//! | [`event_names`] | event type names, `switch_name_event`, the `myevents` list |
//! | [`subscription`] | `event`/`nixevent`/`noevents`/`filter`/`myevents` state and delivery decision |
//! | [`filters`] | one listener's `filter` list, judged in time independent of its length |
//! | [`commands`] | `parse_command`: every ESL command and its reply |
//! | [`conn_state`] | what `parse_command` works on; what a command tells the loop |
//! | [`conn`] | one connection's wire side: accepted events, session end, linger, replies |
//! | [`connection`] | one connection's loop: reading commands, event delivery |
//! | [`writer`] | frame writes with the write-side faults |
//! | [`faults`] | faults on demand |
//! | [`inbound`] | the inbound listener (`auth/request`, password) |
//! | [`outbound`] | the outbound dialler for the `socket` application |
pub mod commands;
pub mod conn;
pub mod conn_state;
pub mod connection;
pub mod event_names;
pub mod faults;
pub mod filters;
pub mod frames;
pub mod inbound;
pub mod outbound;
pub mod request;
pub mod serialize;
pub mod subscription;
pub mod writer;
