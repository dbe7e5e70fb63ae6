//! [`CsvLogger`]: one CSV row per epoch.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::error::{Error, Result};

/// Writes each epoch's logs as a row of a CSV file, as Keras' `CSVLogger`: a header
/// `epoch,<log>,<log>,...` (logs sorted by name), then a row per epoch (counting from 0), each
/// flushed when its epoch ends so the file can be watched while training runs.
///
/// - Without `append`, the file is rewritten at the start of training; with it, rows are added
///   after those already there (under their header) and no second header is written.
/// - A log missing from an epoch is written `NA`. A log first seen after the header was written
///   (validation logs with `validation_freq > 1`) adds a column: the file is rewritten with the
///   wider header, earlier rows getting `NA`.
///
/// ```
/// use elegy_core::callbacks::CsvLogger;
/// let log = CsvLogger::new("training.csv").separator(';').append(true);
/// ```
#[derive(Debug)]
pub struct CsvLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    file: Option<File>,
    /// The columns after `epoch`, once a header is written or read.
    columns: Option<Vec<String>>,
}

const OP: &str = "CsvLogger";

impl CsvLogger {
    /// Logs to `path`, comma-separated, rewriting the file at the start of training.
    pub fn new(path: impl Into<PathBuf>) -> CsvLogger {
        CsvLogger {
            path: path.into(),
            separator: ',',
            append: false,
            file: None,
            columns: None,
        }
    }

    /// The character between fields.
    pub fn separator(mut self, separator: char) -> CsvLogger {
        self.separator = separator;
        self
    }

    /// Add rows to an existing file instead of rewriting it.
    pub fn append(mut self, append: bool) -> CsvLogger {
        self.append = append;
        self
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn write(&mut self, text: &str) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(Error::invalid(
                OP,
                "the log file is not open: training has not begun",
            ));
        };
        let written = file.write_all(text.as_bytes()).and_then(|()| file.flush());
        written.map_err(|e| self.io(e))
    }

    fn line<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> String {
        let mut line = fields
            .into_iter()
            .collect::<Vec<_>>()
            .join(&self.separator.to_string());
        line.push('\n');
        line
    }

    /// The columns of the header already in the file, if it has one; the file's content also
    /// tells whether its last row is complete.
    fn existing(&self) -> Result<Option<(Vec<String>, bool)>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let Some(header) = text.lines().next().filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        let mut fields = header.split(self.separator);
        if fields.next() != Some("epoch") {
            return Err(Error::Format {
                path: self.path.clone(),
                message: format!(
                    "cannot append to it: its header `{header}` is not a CSV log's (it should \
                     start with `epoch` followed by {:?})",
                    self.separator
                ),
            });
        }
        Ok(Some((
            fields.map(str::to_string).collect(),
            text.ends_with('\n'),
        )))
    }

    /// Rewrites the file with `new` columns added to its header and `NA` in every earlier row,
    /// atomically, then reopens it for appending.
    fn widen(&mut self, new: &[String]) -> Result<()> {
        self.file = None;
        let text = fs::read_to_string(&self.path).map_err(|e| self.io(e))?;
        let sep = self.separator;
        let mut out = String::with_capacity(text.len() + 16 * new.len());
        for (i, row) in text.lines().enumerate() {
            out.push_str(row);
            for name in new {
                out.push(sep);
                out.push_str(if i == 0 { name } else { "NA" });
            }
            out.push('\n');
        }
        super::write_atomically(&self.path, out.as_bytes())?;
        self.file = Some(self.open_append()?);
        Ok(())
    }

    fn open_append(&self) -> Result<File> {
        OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))
    }
}

impl Callback for CsvLogger {
    fn chief_only(&self) -> bool {
        true
    }

    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.columns = None;
        let existing = if self.append { self.existing()? } else { None };
        match existing {
            Some((columns, complete)) => {
                self.columns = Some(columns);
                self.file = Some(self.open_append()?);
                if !complete {
                    // A run killed mid-row: end that row so the next starts on its own line.
                    self.write("\n")?;
                }
            }
            None => {
                if let Some(dir) = Path::new(&self.path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    fs::create_dir_all(dir).map_err(|e| self.io(e))?;
                }
                self.file = Some(File::create(&self.path).map_err(|e| self.io(e))?);
            }
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _ctx: &mut CallbackContext<'_>,
        logs: &mut LogValues,
    ) -> Result<()> {
        match &self.columns {
            None => {
                let columns: Vec<String> = logs.keys().cloned().collect();
                let header =
                    self.line(std::iter::once("epoch").chain(columns.iter().map(String::as_str)));
                self.write(&header)?;
                self.columns = Some(columns);
            }
            Some(columns) => {
                let new: Vec<String> = logs
                    .keys()
                    .filter(|k| !columns.contains(k))
                    .cloned()
                    .collect();
                if !new.is_empty() {
                    self.widen(&new)?;
                    if let Some(columns) = self.columns.as_mut() {
                        columns.extend(new);
                    }
                }
            }
        }
        let values: Vec<String> = self
            .columns
            .iter()
            .flatten()
            .map(|c| logs.get(c).map_or("NA".to_string(), |v| v.to_string()))
            .collect();
        let epoch = epoch.to_string();
        let row =
            self.line(std::iter::once(epoch.as_str()).chain(values.iter().map(String::as_str)));
        self.write(&row)
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        self.file = None;
        Ok(())
    }
}
