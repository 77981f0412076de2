//! Watching the scripts folder: a change to it (a file written, created, renamed or deleted) runs
//! [`App::sync_scripts`] once the folder has been quiet for [`QUIET`], on a thread of its own.
//!
//! Waiting for the folder to go quiet means that an editor's or a deploy's burst of events (a temporary file, a
//! rename, several files) causes one sync, not one per event. Deploy a file by writing it elsewhere in the folder
//! under another extension and renaming it into place: a rename is atomic, so the sync never reads a partly
//! written file. A file written in place may still be read half written; it then either fails to load (and the
//! previous version keeps serving) or, if the half is valid on its own and defines `handle`, serves until the
//! rest of the write triggers the next sync.

use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::{App, ServerEngine};

/// How long the folder must be quiet before a sync.
pub const QUIET: Duration = Duration::from_millis(100);

/// Watches `app`'s scripts folder until the returned watcher is dropped.
///
/// # Errors
/// The folder cannot be watched (it is gone, or the system's watch limit is reached).
pub fn watch<E: ServerEngine>(app: Arc<App<E>>) -> notify::Result<notify::RecommendedWatcher> {
    let (events, changes) = channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if event.kind.is_access() => {}
            Ok(_) => {
                let _ = events.send(());
            }
            Err(error) => {
                log::warn!(target: "vmpool::server", "watching the scripts folder: {error}")
            }
        })?;
    watcher.watch(app.scripts(), RecursiveMode::NonRecursive)?;
    log::info!(target: "vmpool::server", "watching {} for handler changes", app.scripts().display());
    std::thread::Builder::new()
        .name("vmpool-watch".into())
        .spawn(move || {
            // Ends when the watcher, and with it the sender, is dropped.
            while changes.recv().is_ok() {
                loop {
                    match changes.recv_timeout(QUIET) {
                        Ok(()) => {}
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                app.sync_scripts();
            }
        })
        .map_err(notify::Error::io)?;
    Ok(watcher)
}
