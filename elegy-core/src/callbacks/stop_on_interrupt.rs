//! [`StopOnInterrupt`]: Ctrl-C ends training cleanly instead of killing the process.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::{Error, Result};

const OP: &str = "StopOnInterrupt";

/// Set by the process's Ctrl-C handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How many fits are watching for Ctrl-C right now.
static WATCHING: AtomicUsize = AtomicUsize::new(0);
/// The handler can be installed once per process; the outcome of the first try is kept.
static INSTALLED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Makes Ctrl-C stop `fit` after the current batch: the epoch's logs are recorded, the end hooks
/// run (so a checkpoint callback placed after this one still saves) and `fit` returns normally.
/// A second Ctrl-C quits at once, and so does one pressed while no `fit` is running, as without
/// the handler.
///
/// The process's handler is installed the first time training begins and stays for the life of
/// the process (the operating system allows one); later runs reuse it. A program with its own
/// handler should set a flag there and use [`StopOnInterrupt::with_flag`] instead.
///
/// ```no_run
/// use elegy_core::callbacks::StopOnInterrupt;
/// let stop = StopOnInterrupt::new();
/// // ... fit with callbacks: vec![Box::new(stop), Box::new(checkpoint)] ...
/// if StopOnInterrupt::was_interrupted() {
///     println!("stopped by Ctrl-C");
/// }
/// ```
#[derive(Debug)]
pub struct StopOnInterrupt {
    flag: Option<Arc<AtomicBool>>,
    /// Whether this callback counts in `WATCHING`.
    watching: bool,
    stopped_at: Option<(usize, Option<usize>)>,
}

impl StopOnInterrupt {
    /// Watches for Ctrl-C through the process-wide handler.
    pub fn new() -> StopOnInterrupt {
        StopOnInterrupt {
            flag: None,
            watching: false,
            stopped_at: None,
        }
    }

    /// Stops when `flag` is set instead (by the program's own signal handler, another thread,
    /// a test); installs no handler and never clears the flag.
    pub fn with_flag(flag: Arc<AtomicBool>) -> StopOnInterrupt {
        StopOnInterrupt {
            flag: Some(flag),
            ..StopOnInterrupt::new()
        }
    }

    /// Whether Ctrl-C was pressed during the current or the last `fit` watched by the
    /// process-wide handler.
    pub fn was_interrupted() -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }

    fn requested(&self) -> bool {
        match &self.flag {
            Some(flag) => flag.load(Ordering::SeqCst),
            None => INTERRUPTED.load(Ordering::SeqCst),
        }
    }

    fn check(&mut self, ctx: &mut CallbackContext<'_>, batch: Option<usize>) {
        if self.requested() {
            if !ctx.stop_training && self.stopped_at.is_none() {
                self.stopped_at = Some((ctx.epoch, batch));
            }
            ctx.stop_training = true;
        }
    }

    fn stop_watching(&mut self) {
        if self.watching {
            WATCHING.fetch_sub(1, Ordering::SeqCst);
            self.watching = false;
        }
    }
}

impl Default for StopOnInterrupt {
    fn default() -> StopOnInterrupt {
        StopOnInterrupt::new()
    }
}

impl Drop for StopOnInterrupt {
    /// A `fit` that failed never ran the end hook: stop watching all the same, so a later
    /// Ctrl-C quits the program.
    fn drop(&mut self) {
        self.stop_watching();
    }
}

fn on_interrupt() {
    if WATCHING.load(Ordering::SeqCst) == 0 || INTERRUPTED.swap(true, Ordering::SeqCst) {
        // Nothing is training, or this is the second Ctrl-C: quit as the default handler does.
        std::process::exit(130);
    }
    eprintln!("\nInterrupted: stopping after the current batch (press Ctrl-C again to quit)");
}

fn install() -> Result<()> {
    INSTALLED
        .get_or_init(|| ctrlc::set_handler(on_interrupt).map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| {
            Error::invalid(
                OP,
                format!(
                    "cannot install the Ctrl-C handler ({e}); if the program installs its own, \
                     have it set an AtomicBool and use StopOnInterrupt::with_flag"
                ),
            )
        })
}

impl Callback for StopOnInterrupt {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.stopped_at = None;
        if self.flag.is_none() && !self.watching {
            install()?;
            if WATCHING.fetch_add(1, Ordering::SeqCst) == 0 {
                // A Ctrl-C from an earlier run must not stop this one.
                INTERRUPTED.store(false, Ordering::SeqCst);
            }
            self.watching = true;
        }
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
        _logs: &LogValues,
    ) -> Result<()> {
        self.check(ctx, Some(batch));
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        ctx: &mut CallbackContext<'_>,
        _logs: &mut LogValues,
    ) -> Result<()> {
        // Ctrl-C during validation: stop before the next epoch rather than one batch into it.
        self.check(ctx, None);
        Ok(())
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        self.stop_watching();
        match self.stopped_at {
            Some((epoch, Some(batch))) => println!(
                "Epoch {}, batch {}: training stopped by Ctrl-C",
                epoch + 1,
                batch + 1
            ),
            Some((epoch, None)) => {
                println!("Epoch {}: training stopped by Ctrl-C", epoch + 1)
            }
            None => {}
        }
        Ok(())
    }
}
