//! The daemon's configuration: a TOML file (see `systemd/sesamed.example.toml`).
//!
//! Where it is looked for, first match wins: `--config PATH`; `$SESAME_CONFIG`;
//! `$XDG_CONFIG_HOME/sesame/sesamed.toml` (else `~/.config/sesame/sesamed.toml`). The
//! system service passes `--config /etc/sesame/sesamed.toml`. A missing file at a default
//! location is an empty configuration (no trusted IdP: the daemon serves, and refuses
//! every login with a page that says how to add one); a missing file named explicitly is
//! an error.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The daemon's TCP port on loopback (`docs/protocol.md` §1.1).
pub const DEFAULT_PORT: u16 = 24729;

/// How the daemon serves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A citizen's desktop: the redirect flow for trusted IdPs.
    #[default]
    Desktop,
    /// A town-hall counter station.
    Counter,
}

/// An identity provider allowed to start a login.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIdp {
    /// Its origin, the `client_id` of its requests: `https://idp.example` (no path).
    pub origin: String,
    /// The name shown on the consent page.
    pub name: String,
    /// The name in French, when it differs.
    #[serde(default)]
    pub name_fr: Option<String>,
}

/// The configuration file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The loopback port (default 24729).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Desktop or counter.
    #[serde(default)]
    pub mode: Mode,
    /// Trusted CSCA certificates and master lists, for the daemon's own Passive
    /// Authentication verdict (the IdP checks again with its own list).
    #[serde(default)]
    pub csca_dir: Option<PathBuf>,
    /// Developer mode: an IdP on `http://localhost` or `http://127.0.0.1` may be trusted.
    #[serde(default)]
    pub developer_mode: bool,
    /// How long a card job may wait for a card and run, seconds (default 120).
    #[serde(default = "default_job_timeout")]
    pub job_timeout_secs: u64,
    /// Use only the readers whose names start with one of these (a counter station's
    /// own readers, say); empty: every reader.
    #[serde(default)]
    pub readers: Vec<String>,
    /// Serve the browser extension's bridge (default true).
    #[serde(default = "default_true")]
    pub bridge: bool,
    /// The bridge's Unix socket (default: `$SESAME_BRIDGE_SOCKET`, else
    /// `$XDG_RUNTIME_DIR/sesame/bridge.sock`).
    #[serde(default)]
    pub bridge_socket: Option<PathBuf>,
    /// The identity providers allowed to start a login.
    #[serde(default, rename = "idp")]
    pub idps: Vec<TrustedIdp>,
    /// Counter mode: the station and its agents.
    #[serde(default)]
    pub counter: CounterConfig,
}

/// The `[counter]` table: a town-hall station (`docs/counter.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterConfig {
    /// The station's name, in every certification record ("Mairie de …, guichet 2").
    #[serde(default)]
    pub station: String,
    /// The IdP the certifications are for (their `aud`).
    #[serde(default)]
    pub audience: Option<String>,
    /// Where certification records are POSTed (`https://idp.example/certifications`).
    #[serde(default)]
    pub certification_endpoint: Option<String>,
    /// The agents who may sign in, each by the document number of their own identity
    /// card.
    #[serde(default, rename = "agent")]
    pub agents: Vec<CounterAgent>,
}

/// An agent of the station.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterAgent {
    /// The document number of the agent's own identity card (their sign-in).
    pub document_number: String,
    /// Their name, in the records and on the page.
    pub name: String,
}

const fn default_port() -> u16 {
    DEFAULT_PORT
}

const fn default_true() -> bool {
    true
}

const fn default_job_timeout() -> u64 {
    120
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            mode: Mode::Desktop,
            csca_dir: None,
            developer_mode: false,
            job_timeout_secs: default_job_timeout(),
            readers: Vec::new(),
            bridge: true,
            bridge_socket: None,
            idps: Vec::new(),
            counter: CounterConfig::default(),
        }
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("the configuration {path} is not valid: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
}

impl Config {
    /// The default location of the configuration file.
    #[must_use]
    pub fn default_path() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("SESAME_CONFIG") {
            return Some(PathBuf::from(path));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("sesame").join("sesamed.toml"))
    }

    /// Loads `explicit`, else the default location (absent there: the defaults).
    ///
    /// # Errors
    /// An unreadable or invalid file; an explicit path that does not exist.
    pub fn load(explicit: Option<&Path>) -> Result<(Self, Option<PathBuf>), ConfigError> {
        let (path, must_exist) = match explicit {
            Some(path) => (path.to_path_buf(), true),
            None => match Self::default_path() {
                Some(path) => (path, false),
                None => return Ok((Self::default(), None)),
            },
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((Self::parse(&text, &path)?, Some(path))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok((Self::default(), None))
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Parses and checks a configuration; `path` names it in errors.
    ///
    /// # Errors
    /// Invalid TOML, unknown keys, or an IdP origin that is not an origin.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let config: Self = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for idp in &config.idps {
            match Origin::parse(&idp.origin) {
                Some(origin) if origin.to_string() == idp.origin => {
                    if !(origin.is_https() || (config.developer_mode && origin.is_loopback())) {
                        return Err(invalid(format!(
                            "IdP {:?}: only https origins can be trusted (http only for \
                             localhost with developer_mode = true)",
                            idp.origin
                        )));
                    }
                }
                _ => {
                    return Err(invalid(format!(
                        "IdP {:?} is not an origin like https://idp.example (scheme, host, \
                         optional port, no path or trailing slash)",
                        idp.origin
                    )));
                }
            }
        }
        if config.job_timeout_secs == 0 {
            return Err(invalid("job_timeout_secs must be at least 1".into()));
        }
        Ok(config)
    }

    /// The trusted IdP whose origin is `client_id`.
    #[must_use]
    pub fn idp(&self, client_id: &str) -> Option<&TrustedIdp> {
        self.idps.iter().find(|idp| idp.origin == client_id)
    }
}

/// A web origin: scheme, host and port (RFC 6454), parsed strictly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `https` or `http`.
    pub scheme: String,
    /// The host, lower case (IPv6 in brackets).
    pub host: String,
    /// The port when given.
    pub port: Option<u16>,
}

impl Origin {
    /// The origin of `url` (`scheme://host[:port]` and an optional path, query or
    /// fragment). `None` for anything else: user info, an empty host, another scheme.
    #[must_use]
    pub fn parse(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        if scheme != "https" && scheme != "http" {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..end)?;
        if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (address, after) = v6.split_once(']')?;
            address.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?.parse().ok()?),
            };
            (format!("[{address}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port.parse().ok()?)),
                None => (authority.to_owned(), None),
            }
        };
        let valid_host = host.starts_with('[')
            || (!host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if !valid_host || port == Some(0) {
            return None;
        }
        Some(Self {
            scheme: scheme.to_owned(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Whether the scheme is https.
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// Whether the host is `localhost`, `127.0.0.1` or `[::1]`.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}://{}:{port}", self.scheme, self.host),
            None => write!(f, "{}://{}", self.scheme, self.host),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_strictly() {
        let o = Origin::parse("https://idp.example/callback?x=1").unwrap();
        assert_eq!(o.to_string(), "https://idp.example");
        assert_eq!(
            Origin::parse("http://localhost:8080").unwrap().to_string(),
            "http://localhost:8080"
        );
        assert_eq!(
            Origin::parse("https://[::1]:9/x").unwrap().to_string(),
            "https://[::1]:9"
        );
        for bad in [
            "javascript:alert(1)",
            "https://user@idp.example/",
            "https://",
            "https://idp.example:0",
            "https://idp.example:99999",
            "ftp://idp.example",
            "https://idp .example",
            "https:\\\\idp.example",
            "https://a\\@b.example",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_example_configuration_parses() {
        let text = include_str!("../../systemd/sesamed.example.toml");
        let config = Config::parse(text, Path::new("example")).unwrap();
        assert_eq!(config.port, DEFAULT_PORT);
    }

    #[test]
    fn only_https_idps_unless_developer_mode() {
        let http = "[[idp]]\norigin = \"http://localhost:8080\"\nname = \"Dev\"\n";
        assert!(Config::parse(http, Path::new("t")).is_err());
        let dev = format!("developer_mode = true\n{http}");
        assert!(Config::parse(&dev, Path::new("t")).is_ok());
        let remote =
            "developer_mode = true\n[[idp]]\norigin = \"http://idp.example\"\nname = \"X\"\n";
        assert!(Config::parse(remote, Path::new("t")).is_err());
        let path = "[[idp]]\norigin = \"https://idp.example/login\"\nname = \"X\"\n";
        assert!(Config::parse(path, Path::new("t")).is_err());
        assert!(Config::parse("prot = 1", Path::new("t")).is_err());
    }
}
