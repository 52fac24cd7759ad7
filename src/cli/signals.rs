//! The process's one SIGINT/SIGTERM handler: temp files of writes in progress are removed,
//! then the process exits (130), unless a long-running command (`watch`) asked to be told
//! instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

/// Set by a command that handles signals itself; the handler then only raises it.
static STAY: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Install the handler once, at start. A failure to install (another handler, no signals on
/// the platform) leaves the default behaviour: the process ends, and a killed write's temp file
/// is removed by the next write to the same path once it is stale.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        rolecall::internals::io::remove_pending();
        match STAY.get() {
            Some(flag) => flag.store(true, Ordering::SeqCst),
            None => std::process::exit(130),
        }
    });
}

/// From now on a signal raises the returned flag instead of ending the process.
pub fn stay_on_signal() -> Arc<AtomicBool> {
    Arc::clone(STAY.get_or_init(|| Arc::new(AtomicBool::new(false))))
}
