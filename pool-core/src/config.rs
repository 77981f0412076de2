//! The `[vm_pool]` configuration: the guide's keys and defaults, plus documented extensions.
//!
//! Integers for `idle_timeout` and `cleanup_interval` are minutes, as in the guide; every duration key also takes
//! a string such as `"500ms"`, `"90s"` or `"10m"`. Unknown keys, sizes that are zero, negative or fractional, and
//! `preload_size > max_size` are rejected with an error that names the key.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// What a reset between two uses of an instance guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// Nothing a use writes is visible to the next: globals, declarations, built-ins, prototypes, library tables,
    /// pending jobs. The default.
    #[default]
    Strict,
    /// Delete what was added to the global object since creation (the guide's behaviour): cheaper, weaker.
    Scrub,
    /// No reset, for trusted code that wants state to persist between uses.
    None,
    /// Every use starts from a byte-identical copy of the instance as it was after creation (the prelude run):
    /// nothing a use does is visible to the next, by construction, and nothing is frozen. Only engines that can
    /// restore a memory image give it (engine-wasm); the others refuse it when they are built
    /// ([`Isolation::require_not_snapshot`]).
    Snapshot,
}

impl Isolation {
    /// The policy's lower-case name as written in TOML.
    pub const fn as_str(self) -> &'static str {
        match self {
            Isolation::Strict => "strict",
            Isolation::Scrub => "scrub",
            Isolation::None => "none",
            Isolation::Snapshot => "snapshot",
        }
    }

    /// For engines that cannot restore a memory image: refuses [`Isolation::Snapshot`] with a configuration error
    /// that names `engine` and the engines that can give it.
    ///
    /// # Errors
    /// When `self` is [`Isolation::Snapshot`].
    pub fn require_not_snapshot(self, engine: &str) -> Result<(), ConfigError> {
        if self == Isolation::Snapshot {
            return Err(ConfigError::invalid(
                "isolation",
                format!(
                    "the {engine} engine cannot give \"snapshot\" isolation (only the wasm engine can); \
                     use \"strict\", \"scrub\" or \"none\""
                ),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Isolation {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "strict" => Ok(Isolation::Strict),
            "scrub" => Ok(Isolation::Scrub),
            "none" => Ok(Isolation::None),
            "snapshot" => Ok(Isolation::Snapshot),
            other => Err(ConfigError::invalid(
                "isolation",
                format!("expected \"strict\", \"scrub\", \"none\" or \"snapshot\", got {other:?}"),
            )),
        }
    }
}

/// Per-call limits every engine honours as far as it can (table `[vm_pool.limits]`).
///
/// A limit cannot be switched off by setting it to zero: zero is rejected, because in the engines a zero memory
/// limit means "unlimited".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time one `eval` or `call` may take. Key `timeout`; default `"1s"`.
    pub timeout: Duration,
    /// Heap one instance may use, in MiB. Key `memory_mb`; default `64`.
    pub memory_mb: u64,
    /// Stack one call may use, in KiB. Key `stack_kb`; default `1024`.
    pub stack_kb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            memory_mb: 64,
            stack_kb: 1024,
        }
    }
}

impl Limits {
    /// The memory limit in bytes.
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    /// The stack limit in bytes.
    pub fn stack_bytes(&self) -> usize {
        usize::try_from(self.stack_kb.saturating_mul(1024)).unwrap_or(usize::MAX)
    }

    /// Checks the limits, naming the key of the first bad one.
    ///
    /// # Errors
    /// A zero limit (which engines would read as "unlimited").
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid(
                "limits.timeout",
                "must be longer than zero (zero would disable it)",
            ));
        }
        if self.memory_mb == 0 {
            return Err(ConfigError::invalid(
                "limits.memory_mb",
                "must be at least 1 (0 would disable the limit)",
            ));
        }
        if self.stack_kb == 0 {
            return Err(ConfigError::invalid(
                "limits.stack_kb",
                "must be at least 1 (0 would disable the limit)",
            ));
        }
        Ok(())
    }
}

/// The pool's configuration: plain data, each default in its doc comment.
///
/// Build it from TOML with [`PoolConfig::from_toml`] or [`PoolConfig::from_file`], embed it in your own
/// configuration struct (it implements `Deserialize` and validates while deserialising), or start from
/// [`PoolConfig::default`] and set fields. [`PoolConfig::validate`] is the one place where values are checked;
/// `Pool::builder` calls it before creating anything.
///
/// ```
/// let config = pool_core::PoolConfig::from_toml(
///     r#"
///     [vm_pool]
///     max_size = 8
///     idle_timeout = "90s"
///     [vm_pool.limits]
///     timeout = "250ms"
///     "#,
/// )?;
/// assert_eq!(config.max_size, 8);
/// assert_eq!(config.preload_size, 4); // max_size / 2
/// assert_eq!(config.idle_timeout, std::time::Duration::from_secs(90));
/// # Ok::<(), pool_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    /// Most instances alive at once (in use, idle and being created). Key `max_size`; default `50`.
    pub max_size: usize,
    /// Instances created at start and kept as the warm floor. Key `preload_size`; default `max_size / 2`.
    pub preload_size: usize,
    /// An idle instance above the warm floor is removed after this long. Key `idle_timeout`; default 10 minutes
    /// (a bare integer is minutes).
    pub idle_timeout: Duration,
    /// How often idle instances are removed and the warm floor refilled. Key `cleanup_interval`; default 5
    /// minutes (a bare integer is minutes).
    pub cleanup_interval: Duration,
    /// Log the metrics line every `metrics_interval`. Key `enable_metrics`; default `false`.
    pub enable_metrics: bool,
    /// How long `acquire` waits for a free instance before failing with `VM pool exhausted`. Key
    /// `acquire_timeout`; default `"5s"`.
    pub acquire_timeout: Duration,
    /// How often the metrics line is logged when `enable_metrics` is set. Key `metrics_interval`; default `"30s"`.
    pub metrics_interval: Duration,
    /// Retire an instance after this many uses. Key `max_uses`; default none.
    pub max_uses: Option<u64>,
    /// Retire an instance this long after its creation, give or take up to 10% jitter so that instances do not
    /// all expire together. Key `max_lifetime`; default none.
    pub max_lifetime: Option<Duration>,
    /// Report (once, through the log, with where it was acquired) an instance held longer than this. Key
    /// `leak_threshold`; default none.
    pub leak_threshold: Option<Duration>,
    /// What a reset between uses guarantees. Key `isolation`; default `"strict"`.
    pub isolation: Isolation,
    /// Per-call limits. Table `[vm_pool.limits]`; defaults in [`Limits`].
    pub limits: Limits,
}

/// The guide's default `max_size`.
pub const DEFAULT_MAX_SIZE: usize = 50;

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            preload_size: DEFAULT_MAX_SIZE / 2,
            idle_timeout: Duration::from_secs(10 * 60),
            cleanup_interval: Duration::from_secs(5 * 60),
            enable_metrics: false,
            acquire_timeout: Duration::from_secs(5),
            metrics_interval: Duration::from_secs(30),
            max_uses: None,
            max_lifetime: None,
            leak_threshold: None,
            isolation: Isolation::Strict,
            limits: Limits::default(),
        }
    }
}

/// A configuration that could not be read or is not valid. The message names the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not TOML, or a value has the wrong type or an unknown key; the message has the line.
    #[error("invalid vm_pool configuration: {0}")]
    Parse(String),
    /// A value has the right type but is not allowed.
    #[error("invalid vm_pool configuration: vm_pool.{key}: {message}")]
    Invalid {
        /// The key, relative to `[vm_pool]` (for example `max_size` or `limits.timeout`).
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The file could not be read.
    #[error("cannot read vm_pool configuration from {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key,
            message: message.into(),
        }
    }

    /// The key the error is about, where it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

impl PoolConfig {
    /// Reads the `[vm_pool]` section of a TOML document; other tables of the document are ignored, so one
    /// `config.toml` can hold the whole application's configuration. A document without the section gives the
    /// defaults.
    ///
    /// # Errors
    /// Malformed TOML (with its line), unknown keys, wrong types and invalid values, naming the key.
    pub fn from_toml(document: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct Document {
            #[serde(default)]
            vm_pool: Option<RawConfig>,
        }
        let de =
            toml::Deserializer::parse(document).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let doc: Document = serde_path_to_error::deserialize(de).map_err(path_error)?;
        doc.vm_pool.unwrap_or_default().into_config()
    }

    /// Reads the keys of the `[vm_pool]` section given without the section header.
    ///
    /// # Errors
    /// As for [`PoolConfig::from_toml`].
    pub fn from_section(section: &str) -> Result<Self, ConfigError> {
        let de =
            toml::Deserializer::parse(section).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            // Paths are relative to the section; prefix them so messages read as in a whole document.
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            ConfigError::Parse(format!("vm_pool.{path}: {inner}"))
        })?;
        raw.into_config()
    }

    /// Reads the `[vm_pool]` section of a TOML file.
    ///
    /// # Errors
    /// The file cannot be read, or as for [`PoolConfig::from_toml`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Checks every value, naming the key of the first bad one. The one place where values are checked.
    ///
    /// # Errors
    /// `max_size` of 0, `preload_size > max_size`, zero `cleanup_interval`, `idle_timeout`, `acquire_timeout`,
    /// `metrics_interval`, `max_uses`, `max_lifetime` or `leak_threshold`, and zero limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_size == 0 {
            return Err(ConfigError::invalid(
                "max_size",
                "must be at least 1, got 0",
            ));
        }
        if self.preload_size > self.max_size {
            return Err(ConfigError::invalid(
                "preload_size",
                format!(
                    "must not exceed max_size ({}), got {}",
                    self.max_size, self.preload_size
                ),
            ));
        }
        let positive: [(&'static str, Option<Duration>); 6] = [
            ("idle_timeout", Some(self.idle_timeout)),
            ("cleanup_interval", Some(self.cleanup_interval)),
            ("acquire_timeout", Some(self.acquire_timeout)),
            ("metrics_interval", Some(self.metrics_interval)),
            ("max_lifetime", self.max_lifetime),
            ("leak_threshold", self.leak_threshold),
        ];
        for (key, value) in positive {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(ConfigError::invalid(key, "must be longer than zero"));
            }
        }
        if self.max_uses == Some(0) {
            return Err(ConfigError::invalid(
                "max_uses",
                "must be at least 1, got 0",
            ));
        }
        self.limits.validate()
    }
}

fn path_error(e: serde_path_to_error::Error<toml::de::Error>) -> ConfigError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = inner.message().to_owned();
    // toml's own rendering carries the line and a caret under the value; keep it, led by the key.
    let rendered = inner.to_string();
    if rendered.contains(&message) && path != "." {
        ConfigError::Parse(format!("{path}: {rendered}"))
    } else {
        ConfigError::Parse(rendered)
    }
}

impl<'de> Deserialize<'de> for PoolConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawConfig::deserialize(deserializer)?
            .into_config()
            .map_err(de::Error::custom)
    }
}

/// The section as written: every key optional, so that defaults can depend on other keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default, deserialize_with = "count")]
    max_size: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    preload_size: Option<u64>,
    #[serde(default, deserialize_with = "minutes_or_duration")]
    idle_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "minutes_or_duration")]
    cleanup_interval: Option<Duration>,
    enable_metrics: Option<bool>,
    #[serde(default, deserialize_with = "duration")]
    acquire_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    metrics_interval: Option<Duration>,
    #[serde(default, deserialize_with = "count")]
    max_uses: Option<u64>,
    #[serde(default, deserialize_with = "duration")]
    max_lifetime: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    leak_threshold: Option<Duration>,
    isolation: Option<Isolation>,
    limits: Option<RawLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default, deserialize_with = "duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "count")]
    memory_mb: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    stack_kb: Option<u64>,
}

impl RawConfig {
    fn into_config(self) -> Result<PoolConfig, ConfigError> {
        let defaults = PoolConfig::default();
        let size = |key: &'static str, v: u64| {
            usize::try_from(v).map_err(|_| ConfigError::invalid(key, format!("{v} is too large")))
        };
        let max_size = self
            .max_size
            .map(|v| size("max_size", v))
            .transpose()?
            .unwrap_or(defaults.max_size);
        let preload_size = self
            .preload_size
            .map(|v| size("preload_size", v))
            .transpose()?
            .unwrap_or(max_size / 2);
        let limits_default = Limits::default();
        let limits = match self.limits {
            None => limits_default,
            Some(l) => Limits {
                timeout: l.timeout.unwrap_or(limits_default.timeout),
                memory_mb: l.memory_mb.unwrap_or(limits_default.memory_mb),
                stack_kb: l.stack_kb.unwrap_or(limits_default.stack_kb),
            },
        };
        let config = PoolConfig {
            max_size,
            preload_size,
            idle_timeout: self.idle_timeout.unwrap_or(defaults.idle_timeout),
            cleanup_interval: self.cleanup_interval.unwrap_or(defaults.cleanup_interval),
            enable_metrics: self.enable_metrics.unwrap_or(defaults.enable_metrics),
            acquire_timeout: self.acquire_timeout.unwrap_or(defaults.acquire_timeout),
            metrics_interval: self.metrics_interval.unwrap_or(defaults.metrics_interval),
            max_uses: self.max_uses,
            max_lifetime: self.max_lifetime,
            leak_threshold: self.leak_threshold,
            isolation: self.isolation.unwrap_or(defaults.isolation),
            limits,
        };
        config.validate()?;
        Ok(config)
    }
}

/// A whole number that is not negative.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Count;
    impl Visitor<'_> for Count {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom(format!("must not be negative, got {v}")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
            Err(E::custom(format!("expected a whole number, got {v}")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            Err(E::custom(format!(
                "expected a whole number, got the string {v:?}"
            )))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<u64, E> {
            Err(E::custom(format!("expected a whole number, got {v}")))
        }
    }
    d.deserialize_any(Count).map(Some)
}

/// A duration string such as `"500ms"`, `"5s"` or `"10m"`.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    d.deserialize_any(DurationVisitor {
        integer_minutes: false,
    })
    .map(Some)
}

/// A duration string, or a bare integer number of minutes (the guide's form).
fn minutes_or_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    d.deserialize_any(DurationVisitor {
        integer_minutes: true,
    })
    .map(Some)
}

struct DurationVisitor {
    integer_minutes: bool,
}

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.integer_minutes {
            f.write_str("a whole number of minutes or a duration string such as \"90s\"")
        } else {
            f.write_str("a duration string such as \"500ms\", \"5s\" or \"10m\"")
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        if self.integer_minutes {
            v.checked_mul(60)
                .map(Duration::from_secs)
                .ok_or_else(|| E::custom(format!("{v} minutes is too long")))
        } else {
            Err(E::custom(format!(
                "expected a duration string such as \"5s\", got the number {v}"
            )))
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!("must not be negative, got {v}"))),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Err(E::invalid_type(de::Unexpected::Float(v), &self))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Duration, E> {
        Err(E::invalid_type(de::Unexpected::Bool(v), &self))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        humantime::parse_duration(v.trim())
            .map_err(|e| E::custom(format!("{v:?} is not a duration: {e}")))
    }
}
