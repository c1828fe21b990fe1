//! SIGHUP: re-read the configuration from the same place, validate it, and say what changed.
//! On any error the running configuration stays; nothing is half-applied.

use crate::config::{Change, Config, ConfigError, ConfigLocation, diff, load};
use std::ffi::OsString;

/// A successfully reloaded configuration and what differs from the running one.
#[derive(Debug)]
pub struct Reloaded {
    pub config: Config,
    pub changes: Vec<Change>,
}

/// Loads `location` (+ `env` overrides) and diffs it against `current`. `Err` means: keep `current`.
pub fn reload<I>(
    location: &ConfigLocation,
    current: &Config,
    env: I,
) -> Result<Reloaded, ConfigError>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let config = load(location, env)?;
    let changes = diff(current, &config);
    Ok(Reloaded { config, changes })
}
