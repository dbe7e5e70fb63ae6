//! [`Logs`]: the named numbers a step reports, and how each adds up over an epoch.

use std::collections::BTreeMap;

/// One logged number and how the loop combines it over an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LogEntry {
    /// A mean over this batch's samples (a loss): the epoch's value is the mean of the batches'
    /// values weighted by their sample counts, so it equals the mean over all samples.
    Batch(f32),
    /// A value already computed over the epoch so far (a streaming metric): the epoch's value is
    /// the last one.
    Running(f32),
}

impl LogEntry {
    /// The number itself.
    pub fn value(self) -> f32 {
        match self {
            LogEntry::Batch(v) | LogEntry::Running(v) => v,
        }
    }
}

/// Named numbers a step reports (`loss`, `accuracy`, ...), sorted by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs {
    entries: BTreeMap<String, LogEntry>,
}

impl Logs {
    /// No logs.
    pub fn new() -> Logs {
        Logs::default()
    }

    /// Logs a per-batch mean (see [`LogEntry::Batch`]).
    pub fn batch(&mut self, name: impl Into<String>, value: f32) {
        self.entries.insert(name.into(), LogEntry::Batch(value));
    }

    /// Logs a value already over the epoch so far (see [`LogEntry::Running`]).
    pub fn running(&mut self, name: impl Into<String>, value: f32) {
        self.entries.insert(name.into(), LogEntry::Running(value));
    }

    /// Sets `name` to `entry`.
    pub fn insert(&mut self, name: impl Into<String>, entry: LogEntry) {
        self.entries.insert(name.into(), entry);
    }

    /// The number logged as `name`.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.entries.get(name).map(|e| e.value())
    }

    /// `(name, entry)` pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, LogEntry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Whether nothing is logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The numbers alone, by name.
    pub fn values(&self) -> BTreeMap<String, f32> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.value()))
            .collect()
    }
}
