//! The `kv` namespace of the server example: JSON values in SQLite, one key space per handler.
//!
//! Scripts call `kv.set(key, value)` (any JSON value; returns `null`) and `kv.get(key)` (the value, or `null` for a
//! key never set). Keys are non-empty strings of at most [`KvLimits::max_key_bytes`] bytes; a value's JSON text
//! may take at most [`KvLimits::max_value_bytes`]. Each handler reads and writes only its own keys (the handler's
//! name is part of the primary key), so handlers stay isolated from each other as their pools are.
//!
//! The calls are synchronous: they run on the request's blocking thread, inside the script's call, and count
//! toward `limits.timeout`. A write waits for SQLite's write lock (held by another writer) at most half the time
//! left before the call's deadline ([`HostCall::remaining`]), then fails with `E_KV_BUSY`: the script still has
//! time to catch it and answer, and an uncaught one is a 503 the client may retry rather than a timeout.
//!
//! | code | when | HTTP status (uncaught) |
//! | --- | --- | --- |
//! | `E_KV_KEY` | the key is empty or too long | 400 |
//! | `E_KV_TOO_LARGE` | the value's JSON is longer than the limit | 413 |
//! | `E_KV_BUSY` | the database stayed locked for half the time left | 503 + `Retry-After: 1` |
//! | `E_KV_FAILED` | any other database failure (disk full, corrupt file) | 500 |
//! | `E_NO_REQUEST` | called outside a request (no [`CallContext`](vmpool::CallContext)) | 500 |

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use vmpool::host::{HostApi, HostCall};
use vmpool::{HostError, Value};

use super::{BoxError, RequestScope};

/// The key is empty or longer than [`KvLimits::max_key_bytes`].
pub const E_KV_KEY: &str = "E_KV_KEY";
/// The value's JSON text is longer than [`KvLimits::max_value_bytes`].
pub const E_KV_TOO_LARGE: &str = "E_KV_TOO_LARGE";
/// The database stayed locked by another writer for half the time left before the call's deadline.
pub const E_KV_BUSY: &str = "E_KV_BUSY";
/// Any other database failure.
pub const E_KV_FAILED: &str = "E_KV_FAILED";
/// A `kv` function was called without a request context.
pub const E_NO_REQUEST: &str = "E_NO_REQUEST";

/// Idle connections kept for reuse; more may be open at once while requests run.
const MAX_IDLE_CONNECTIONS: usize = 8;

/// The longest a connection waits for a lock when the call has no deadline.
const MAX_BUSY_WAIT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
    handler TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (handler, key)
) WITHOUT ROWID";

const GET: &str = "SELECT value FROM kv WHERE handler = ?1 AND key = ?2";
const SET: &str = "INSERT INTO kv (handler, key, value) VALUES (?1, ?2, ?3)
    ON CONFLICT (handler, key) DO UPDATE SET value = excluded.value";

/// Bounds on what scripts may store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvLimits {
    /// Longest key in bytes. Default: 256.
    pub max_key_bytes: usize,
    /// Longest value, as JSON text, in bytes. Default: 64 KiB.
    pub max_value_bytes: usize,
}

impl Default for KvLimits {
    fn default() -> Self {
        Self {
            max_key_bytes: 256,
            max_value_bytes: 64 * 1024,
        }
    }
}

/// The SQLite database behind `kv`, with a few connections kept open for reuse.
pub struct KvStore {
    path: PathBuf,
    limits: KvLimits,
    idle: Mutex<Vec<Connection>>,
    /// The folder of a temporary database, removed (with the database) when the store is dropped.
    _temporary: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore")
            .field("path", &self.path)
            .field("limits", &self.limits)
            .field("temporary", &self._temporary.is_some())
            .finish_non_exhaustive()
    }
}

impl KvStore {
    /// Opens (creating if needed) the database at `path` and its table.
    ///
    /// # Errors
    /// A file that cannot be opened or created, or that is not an SQLite database; the message names the file.
    pub fn open(path: &Path, limits: KvLimits) -> Result<Self, BoxError> {
        Self::open_in(path.to_owned(), limits, None)
    }

    /// Opens a database in a new temporary folder, removed when the store is dropped.
    ///
    /// # Errors
    /// The temporary folder cannot be created, or the database in it cannot be opened.
    pub fn temporary(limits: KvLimits) -> Result<Self, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("vmpool-server-kv-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder for the kv database: {e}"))?;
        let path = dir.path().join("kv.sqlite3");
        Self::open_in(path, limits, Some(dir))
    }

    fn open_in(
        path: PathBuf,
        limits: KvLimits,
        temporary: Option<tempfile::TempDir>,
    ) -> Result<Self, BoxError> {
        let connection = connect(&path)
            .and_then(|c| c.execute_batch(SCHEMA).map(|()| c))
            .map_err(|e| format!("cannot open the kv database {}: {e}", path.display()))?;
        Ok(Self {
            path,
            limits,
            idle: Mutex::new(vec![connection]),
            _temporary: temporary,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the database is removed when the store is dropped.
    pub fn is_temporary(&self) -> bool {
        self._temporary.is_some()
    }

    /// The value stored under `key` in `handler`'s key space, if any.
    ///
    /// # Errors
    /// `E_KV_KEY`, `E_KV_BUSY` (locked for longer than `wait`) or `E_KV_FAILED`.
    pub fn get(
        &self,
        handler: &str,
        key: &str,
        wait: Duration,
    ) -> Result<Option<Value>, HostError> {
        self.check_key(key)?;
        let text: Option<String> = self.with_connection(wait, |c| {
            c.prepare_cached(GET)?
                .query_row(params![handler, key], |row| row.get(0))
                .optional()
        })?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                HostError::new(
                    E_KV_FAILED,
                    format!("the stored value of {key:?} is not JSON: {e}"),
                )
            })
        })
        .transpose()
    }

    /// Stores `value` under `key` in `handler`'s key space.
    ///
    /// # Errors
    /// `E_KV_KEY`, `E_KV_TOO_LARGE`, `E_KV_BUSY` (locked for longer than `wait`) or `E_KV_FAILED`.
    pub fn set(
        &self,
        handler: &str,
        key: &str,
        value: &Value,
        wait: Duration,
    ) -> Result<(), HostError> {
        self.check_key(key)?;
        let text = serde_json::to_string(value)
            .map_err(|e| HostError::new(E_KV_FAILED, format!("cannot encode the value: {e}")))?;
        if text.len() > self.limits.max_value_bytes {
            return Err(HostError::new(
                E_KV_TOO_LARGE,
                format!(
                    "the value for {key:?} takes {} bytes as JSON, more than the limit of {}",
                    text.len(),
                    self.limits.max_value_bytes
                ),
            ));
        }
        self.with_connection(wait, |c| {
            c.prepare_cached(SET)?
                .execute(params![handler, key, text])
                .map(drop)
        })
    }

    fn check_key(&self, key: &str) -> Result<(), HostError> {
        if key.is_empty() {
            return Err(HostError::new(E_KV_KEY, "the key is empty"));
        }
        if key.len() > self.limits.max_key_bytes {
            return Err(HostError::new(
                E_KV_KEY,
                format!(
                    "the key is {} bytes long, more than the limit of {}",
                    key.len(),
                    self.limits.max_key_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Runs `f` on an idle connection (or a new one), waiting at most `wait` for locks.
    fn with_connection<T>(
        &self,
        wait: Duration,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, HostError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let connection = match idle {
            Some(c) => c,
            None => connect(&self.path).map_err(|e| database_error(&e))?,
        };
        let result = connection
            .busy_timeout(wait.clamp(Duration::from_millis(1), MAX_BUSY_WAIT))
            .and_then(|()| f(&connection));
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(connection);
        }
        drop(idle);
        result.map_err(|e| database_error(&e))
    }

    /// `api` with the `kv` namespace on this store added. The functions read the handler's name from the
    /// request's [`RequestScope`] and record the errors they raise there (the server maps them to a status).
    pub fn install(self: &Arc<Self>, api: HostApi) -> HostApi {
        let get_store = Arc::clone(self);
        let set_store = Arc::clone(self);
        api.namespace("kv", |kv| {
            kv.function("get", move |call, (key,): (String,)| {
                let scope = scope(call)?;
                get_store
                    .get(scope.handler(), &key, wait(call))
                    .map_err(|e| scope.record(e))
            })
            .function("set", move |call, (key, value): (String, Value)| {
                let scope = scope(call)?;
                set_store
                    .set(scope.handler(), &key, &value, wait(call))
                    .map_err(|e| scope.record(e))
            })
        })
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    // Readers do not block the writer (and the other way round); a commit need not wait for the disk.
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(connection)
}

fn database_error(error: &rusqlite::Error) -> HostError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            HostError::new(
                E_KV_BUSY,
                format!("the kv database stayed locked by another writer: {error}"),
            )
        }
        _ => HostError::new(E_KV_FAILED, format!("the kv database failed: {error}")),
    }
}

/// The request the call serves, or `E_NO_REQUEST` (recorded nowhere: there is no request to record it in).
fn scope<'a>(call: &'a HostCall<'_>) -> Result<&'a RequestScope, HostError> {
    call.get::<RequestScope>().ok_or_else(|| {
        HostError::new(
            E_NO_REQUEST,
            format!(
                "{} needs a request: it was called outside one",
                call.function()
            ),
        )
    })
}

/// How long a call may wait for a lock: half the time left before its deadline.
fn wait(call: &HostCall<'_>) -> Duration {
    call.remaining().map_or(MAX_BUSY_WAIT, |left| left / 2)
}
