//! Loading: the TOML file (if any), then `CONFPAY_<SECTION>__<KEY>` environment overrides, deserialised
//! with the `config` crate into [`Config`], then [`validate`]d.
//!
//! Only variables of exactly that form are overrides: `CONFPAY_ESL__PASSWORD` sets `esl.password`, while
//! `CONFPAY_LIVE_ESL` (no `__`) is some other tool's variable and is ignored. Override values are taken
//! as strings and converted by the target field's type, so a password `0123` stays `0123`.
//! List keys (`CONFPAY_OUTBOUND__ALLOW`, `CONFPAY_HTTP__ALLOWED_HOSTS`, `CONFPAY_HTTP__ALLOWED_ORIGINS`,
//! `CONFPAY_PAYMENT__AGENT_DIAL_ALLOW`) are comma-separated.

use super::schema::Config;
use super::validate::{Invalid, validate};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the daemon looks when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/confpay/confpay.toml";

/// The environment variable prefix of overrides.
const ENV_PREFIX: &str = "CONFPAY_";
/// Between section and key in an override's name.
const ENV_SEPARATOR: &str = "__";
/// Keys whose override value is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "outbound.allow",
    "http.allowed_hosts",
    "http.allowed_origins",
    "payment.agent_dial_allow",
];

/// Where the configuration comes from. Kept by the daemon so SIGHUP re-reads the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigLocation {
    /// `--config FILE`: the file must exist.
    File(PathBuf),
    /// No `--config`: this file if it exists (checked at every load), else built-in defaults.
    DefaultIfPresent(PathBuf),
}

impl ConfigLocation {
    /// The location used without `--config`: [`DEFAULT_PATH`] if it exists.
    pub fn standard() -> ConfigLocation {
        ConfigLocation::DefaultIfPresent(PathBuf::from(DEFAULT_PATH))
    }

    /// The file that a load would read now, or `None` for built-in defaults.
    pub fn resolve(&self) -> Option<&Path> {
        match self {
            ConfigLocation::File(path) => Some(path),
            ConfigLocation::DefaultIfPresent(path) => path.is_file().then_some(path.as_path()),
        }
    }
}

impl fmt::Display for ConfigLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.resolve() {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("built-in defaults"),
        }
    }
}

/// Anything wrong with the configuration. Every one of these exits the daemon with code 2 at start-up,
/// and keeps the old configuration on reload.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment variable {var}: value is not valid UTF-8")]
    EnvNotUnicode { var: String },
    #[error("{origin}: {}", join(errors))]
    Invalid {
        origin: String,
        errors: Vec<Invalid>,
    },
}

fn join(errors: &[Invalid]) -> String {
    errors
        .iter()
        .map(Invalid::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Loads and validates the configuration from `location` and the environment `env` (pass
/// `std::env::vars_os()`; tests pass their own list).
///
/// ```
/// use confpay::config::{load, ConfigLocation};
/// let none = ConfigLocation::DefaultIfPresent("/nonexistent/confpay.toml".into());
/// let env = [
///     ("CONFPAY_PAYMENT__MAX_CAPTURE_S".into(), "120".into()),
///     ("CONFPAY_LIVE_ESL".into(), "ignored: not <SECTION>__<KEY>".into()),
/// ];
/// let config = load(&none, env).unwrap();
/// assert_eq!(config.payment.max_capture_s, 120);
/// assert_eq!(config.esl.address, "127.0.0.1:8021");
/// ```
pub fn load<I>(location: &ConfigLocation, env: I) -> Result<Config, ConfigError>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let mut builder = config::Config::builder();
    let origin = match location.resolve() {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
            path.display().to_string()
        }
        None => "built-in defaults".to_owned(),
    };
    let overrides = env_overrides(env)?;
    let origin = match overrides.is_empty() {
        true => origin,
        false => {
            let vars: Vec<&str> = overrides.iter().map(|o| o.var.as_str()).collect();
            format!("{origin} + environment ({})", vars.join(", "))
        }
    };
    for o in overrides {
        let parse_err = |e: config::ConfigError| ConfigError::Parse {
            origin: o.var.clone(),
            message: e.to_string(),
        };
        builder = match LIST_KEYS.contains(&o.key.as_str()) {
            true => {
                let items: Vec<String> = o
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                builder.set_override(o.key.as_str(), items)
            }
            false => builder.set_override(o.key.as_str(), o.value.as_str()),
        }
        .map_err(parse_err)?;
    }
    let parse_err = |e: config::ConfigError| ConfigError::Parse {
        origin: origin.clone(),
        message: e.to_string(),
    };
    let config: Config = builder
        .build()
        .map_err(parse_err)?
        .try_deserialize()
        .map_err(parse_err)?;
    let errors = validate(&config);
    match errors.is_empty() {
        true => Ok(config),
        false => Err(ConfigError::Invalid { origin, errors }),
    }
}

/// One `CONFPAY_<SECTION>__<KEY>` variable.
struct EnvOverride {
    var: String,
    /// `section.key`, lower case.
    key: String,
    value: String,
}

/// Picks the override variables out of `env`; everything else is ignored.
fn env_overrides<I>(env: I) -> Result<Vec<EnvOverride>, ConfigError>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let mut out = Vec::new();
    for (name, value) in env {
        // A variable whose name is not UTF-8 cannot be ours.
        let Ok(var) = name.into_string() else {
            continue;
        };
        let Some(key) = override_key(&var) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| ConfigError::EnvNotUnicode { var: var.clone() })?;
        out.push(EnvOverride { var, key, value });
    }
    out.sort_by(|a, b| a.var.cmp(&b.var));
    Ok(out)
}

/// `CONFPAY_ESL__PASSWORD` → `esl.password`; `None` for anything not of exactly that form.
pub fn override_key(var: &str) -> Option<String> {
    let rest = var.strip_prefix(ENV_PREFIX)?;
    let (section, key) = rest.split_once(ENV_SEPARATOR)?;
    let word = |s: &str| {
        !s.is_empty()
            && !s.starts_with('_')
            && !s.ends_with('_')
            && !s.contains(ENV_SEPARATOR)
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    match word(section) && word(key) {
        true => Some(format!(
            "{}.{}",
            section.to_ascii_lowercase(),
            key.to_ascii_lowercase()
        )),
        false => None,
    }
}
