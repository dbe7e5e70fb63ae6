//! Tables of numbers with one label column, as CSV (or TSV, ...) text.

use std::collections::BTreeMap;
use std::path::Path;

use super::LabelledData;
use super::files::{format_error, read_maybe_gzip};
use crate::error::Result;
use crate::tensor::Tensor;

/// Which column of a CSV file holds the labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// The column with this name in the header.
    Name(String),
    /// The column at this position, counting from 0.
    Index(usize),
    /// The last column (the layout of most UCI tables).
    Last,
}

impl From<&str> for LabelColumn {
    fn from(name: &str) -> Self {
        LabelColumn::Name(name.to_string())
    }
}

impl From<String> for LabelColumn {
    fn from(name: String) -> Self {
        LabelColumn::Name(name)
    }
}

impl From<usize> for LabelColumn {
    fn from(index: usize) -> Self {
        LabelColumn::Index(index)
    }
}

/// What the label column of a CSV file holds (see [`read_csv`] for how each is encoded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Targets {
    /// Decided from the labels: names are classes; non-negative integers are class indices
    /// unless there would be more classes than both the rows and 256 (years, prices, counts);
    /// other numbers are values.
    #[default]
    Auto,
    /// Class indices (non-negative integers; sparse ones become the ids that occur, see
    /// [`read_csv`]) or class names (anything else).
    Classes,
    /// Numbers to regress on; a label that is not a number is an error.
    Values,
}

/// How [`read_csv`] reads a file.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// The column of labels; every other column is a feature. Default: the last.
    pub label_column: LabelColumn,
    /// The character between fields. Default: `,` (`\t` for TSV, `;` for European CSV).
    pub delimiter: char,
    /// Whether the first line names the columns. Default: `true`. Without a header the columns
    /// are named `column 0`, `column 1`, ... and a label column can only be chosen by position.
    pub has_header: bool,
    /// What the labels are: classes or values. Default: [`Targets::Auto`].
    pub targets: Targets,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            label_column: LabelColumn::Last,
            delimiter: ',',
            has_header: true,
            targets: Targets::Auto,
        }
    }
}

impl CsvOptions {
    /// The default options with the labels in `column` (a name or a position).
    ///
    /// ```
    /// use elegy_core::datasets::{CsvOptions, LabelColumn};
    /// assert_eq!(CsvOptions::label("species").label_column, LabelColumn::Name("species".into()));
    /// assert_eq!(CsvOptions::label(0).label_column, LabelColumn::Index(0));
    /// ```
    pub fn label(column: impl Into<LabelColumn>) -> CsvOptions {
        CsvOptions {
            label_column: column.into(),
            ..CsvOptions::default()
        }
    }
}

/// Reads a table of numbers with one label column from a CSV file (plain or gzip-compressed) as
/// a [`LabelledData`]: `x` `[rows, columns - 1]`, `y` `[rows]`, and the other columns' header names
/// as `feature_names`.
///
/// Labels, as [`CsvOptions::targets`] says (by default decided from the labels):
/// - class indices: when every label is a non-negative integer, it is kept as the class index,
///   and the class names are `"0"`, `"1"`, ... up to the largest label, while that makes at
///   most as many classes as the larger of the row count and 256. Beyond that (sparse ids,
///   years, prices), [`Targets::Auto`] takes the labels as values (a column of years is a target
///   value, not ten thousand classes) and [`Targets::Classes`] takes the ids that occur as the
///   classes, in increasing order, each label becoming its id's rank (as scikit-learn's
///   `LabelEncoder` does): labels 3, 10000000, 3 are classes `["3", "10000000"]` and `y` is
///   0, 1, 0, never ten million classes;
/// - values (a regression target): every label is a number, kept as it is; `class_names` is
///   empty;
/// - class names: otherwise, the distinct labels, sorted, become `class_names` and each label
///   its index there. Sorting (rather than order of first appearance) gives a training file and
///   a test file with the same classes the same indices. With [`Targets::Auto`], a column of
///   numbers with some text in it (`NA`) is an error, a missing value rather than a class.
///
/// An empty label is an error (a missing value, or a delimiter at the end of every line).
///
/// Fields are separated by [`CsvOptions::delimiter`]; spaces around a field are ignored; a field
/// may be enclosed in double quotes (to hold the delimiter), with `""` for a quote inside it;
/// blank lines are skipped. Every feature must be a number (`nan` and `inf` are accepted, as by
/// Rust's `f32` parser). A field that is not a number, or a row of the wrong length, is an
/// [`crate::Error::Format`] naming the file, the line (counting from 1, header included, as
/// editors do) and the column (counting from 0, as [`LabelColumn::Index`] does).
///
/// ```no_run
/// use elegy_core::datasets::{CsvOptions, read_csv};
/// let data = read_csv("data/penguins.csv", CsvOptions::label("species"))?;
/// println!("{} rows of {:?}, classes {:?}", data.x.shape()[0], data.feature_names, data.class_names);
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn read_csv(path: impl AsRef<Path>, options: CsvOptions) -> Result<LabelledData> {
    let path = path.as_ref();
    let bytes = read_maybe_gzip(path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format_error(
            path,
            format!(
                "is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    parse_csv(path, &text, &options)
}

fn parse_csv(path: &Path, text: &str, options: &CsvOptions) -> Result<LabelledData> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The lines that hold something, with their numbers. Iterated again (rather than kept) to
    // count the rows and to find the line of a row for an error: the table is stored once, as
    // numbers, and the labels once, as text.
    let lines = || {
        text.split('\n')
            .enumerate()
            .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
            .filter(|(_, line)| !line.trim().is_empty())
    };
    let split = |(number, line): (usize, &str)| {
        split_fields(line, options.delimiter)
            .map(|fields| (number, fields))
            .map_err(|message| format_error(path, format!("line {number}: {message}")))
    };
    let skip = usize::from(options.has_header);
    let mut rows = lines();
    let header: Vec<String> = if options.has_header {
        let first = rows
            .next()
            .ok_or_else(|| format_error(path, "is empty: no header line"))?;
        split(first)?.1
    } else {
        Vec::new()
    };
    let Some(first_row) = rows.next() else {
        return Err(format_error(path, "has no data rows"));
    };
    let first_row = split(first_row)?;
    let columns = if options.has_header {
        header.len()
    } else {
        first_row.1.len()
    };
    let column_name = |c: usize| match header.get(c) {
        Some(name) => format!("column {c} (`{name}`, counting from 0)"),
        None => format!("column {c} (counting from 0)"),
    };

    let label = label_index(path, &header, columns, &options.label_column)?;
    let feature_columns: Vec<usize> = (0..columns).filter(|&c| c != label).collect();
    let row_count = lines().count() - skip;
    let mut x = Vec::new();
    // Every label, one after another, and where each ends.
    let mut labels = String::new();
    let mut label_ends = Vec::with_capacity(row_count);
    let mut read_row = |(number, fields): (usize, Vec<String>)| -> Result<()> {
        if fields.len() != columns {
            let reference = if options.has_header {
                "the header"
            } else {
                "the first row"
            };
            return Err(format_error(
                path,
                format!(
                    "line {number}: {} fields, but {reference} has {columns}",
                    fields.len()
                ),
            ));
        }
        for &c in &feature_columns {
            let field = &fields[c];
            let value = field.parse::<f32>().map_err(|_| {
                let what = if field.is_empty() {
                    "is empty".to_string()
                } else {
                    format!("`{field}` is not a number")
                };
                format_error(path, format!("line {number}, {}: {what}", column_name(c)))
            })?;
            x.push(value);
        }
        if fields[label].is_empty() {
            return Err(format_error(
                path,
                format!(
                    "line {number}, {}: the label is empty; every row needs one (a missing \
                     value, or a delimiter at the end of the line?)",
                    column_name(label)
                ),
            ));
        }
        labels.push_str(&fields[label]);
        label_ends.push(labels.len());
        Ok(())
    };
    read_row(first_row)?;
    for row in rows {
        read_row(split(row)?)?;
    }

    let n = label_ends.len();
    let label_of = |row: usize| {
        let start = if row == 0 { 0 } else { label_ends[row - 1] };
        &labels[start..label_ends[row]]
    };
    let line_of = |row: usize| lines().nth(row + skip).map_or(0, |(number, _)| number);
    let (y, class_names) =
        encode_labels(n, label_of, options.targets, line_of).map_err(|(row, reason)| {
            format_error(
                path,
                format!("line {}, {}: {reason}", line_of(row), column_name(label)),
            )
        })?;
    let feature_names = feature_columns
        .iter()
        .map(|&c| {
            header
                .get(c)
                .cloned()
                .unwrap_or_else(|| format!("column {c}"))
        })
        .collect();
    Ok(LabelledData {
        x: Tensor::from_vec(x, &[n, feature_columns.len()])?,
        y: Tensor::from(y),
        class_names,
        feature_names,
    })
}

/// The position of the label column among `columns`.
fn label_index(
    path: &Path,
    header: &[String],
    columns: usize,
    label: &LabelColumn,
) -> Result<usize> {
    match label {
        LabelColumn::Last if columns > 0 => Ok(columns - 1),
        LabelColumn::Last => Err(format_error(path, "has no columns")),
        LabelColumn::Index(i) if *i < columns => Ok(*i),
        LabelColumn::Index(i) => Err(format_error(
            path,
            format!(
                "label column {i} does not exist: the file has {columns} columns (0..{columns})"
            ),
        )),
        LabelColumn::Name(name) if header.is_empty() => Err(format_error(
            path,
            format!(
                "label column `{name}` cannot be found without a header; set has_header or \
                 choose the column by position"
            ),
        )),
        LabelColumn::Name(name) => header.iter().position(|h| h == name).ok_or_else(|| {
            format_error(
                path,
                format!(
                    "no column named `{name}` for the labels; the header has {}",
                    header
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }),
    }
}

/// Labels as numbers, and the class names (see [`read_csv`] for the rules); else the row of the
/// first label that cannot be read so, and why. `label` gives the label of each of the `n`
/// rows, `line_of` a row's line in the file.
fn encode_labels<'a>(
    n: usize,
    label: impl Fn(usize) -> &'a str,
    targets: Targets,
    line_of: impl Fn(usize) -> usize,
) -> std::result::Result<(Vec<f32>, Vec<String>), (usize, String)> {
    let number = |row: usize| label(row).parse::<f32>().ok();
    let text = (0..n).find(|&row| number(row).is_none());
    if targets == Targets::Values
        && let Some(row) = text
    {
        let reason = format!(
            "`{}` is not a number, and the targets are values (Targets::Values); use \
             Targets::Classes or Auto for named classes",
            label(row)
        );
        return Err((row, reason));
    }
    // A column of numbers with a word or two in it is a column with missing values (`NA`):
    // taken as class names, sorted as text, they would renumber every class without a word.
    if targets == Targets::Auto
        && let (Some(row), Some(other)) = (text, (0..n).find(|&row| number(row).is_some()))
    {
        let reason = format!(
            "`{}` is not a number, but other labels are (`{}` on line {}); a missing label? \
             Fix the file, or read every label as a class name with Targets::Classes",
            label(row),
            label(other),
            line_of(other)
        );
        return Err((row, reason));
    }
    if text.is_none() {
        let numbers: Vec<f32> = (0..n).map(|row| number(row).unwrap_or(f32::NAN)).collect();
        if targets == Targets::Values {
            return Ok((numbers, Vec::new()));
        }
        // Every integer up to 2^24 is exact in f32, so it can serve as a class index.
        let is_class = |v: &f32| *v >= 0.0 && v.fract() == 0.0 && *v < 16_777_216.0;
        if numbers.iter().all(is_class) {
            let classes = numbers.iter().fold(0.0f32, |m, &v| m.max(v + 1.0)) as usize;
            if classes <= n.max(256) {
                return Ok((numbers, (0..classes).map(|c| c.to_string()).collect()));
            }
            if targets == Targets::Classes {
                // Sparse class ids (a label of 10000000 in a small file): the classes are the
                // ids that occur, in increasing order, as scikit-learn's LabelEncoder makes
                // them, not one class per integer up to the largest.
                // Built by insertion: `collect` would first gather every row in a vector.
                let mut index = BTreeMap::new();
                for &v in &numbers {
                    index.insert(v as u32, 0);
                }
                for (i, rank) in index.values_mut().enumerate() {
                    *rank = i;
                }
                let y = numbers
                    .iter()
                    .map(|&v| index.get(&(v as u32)).map_or(0.0, |&i| i as f32))
                    .collect();
                return Ok((y, index.keys().map(u32::to_string).collect()));
            }
        }
        if targets == Targets::Auto {
            return Ok((numbers, Vec::new()));
        }
    }
    // Built by insertion: `collect` would first gather every row in a vector.
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for row in 0..n {
        index.insert(label(row), 0);
    }
    for (i, rank) in index.values_mut().enumerate() {
        *rank = i;
    }
    let y = (0..n)
        .map(|row| index.get(label(row)).map_or(0.0, |&i| i as f32))
        .collect();
    Ok((y, index.into_keys().map(str::to_string).collect()))
}

/// The fields of one line, trimmed, with double-quoted fields unquoted.
fn split_fields(line: &str, delimiter: char) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars
            .next_if(|&c| c != delimiter && c.is_whitespace())
            .is_some()
        {}
        let mut field = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        return Err(format!(
                            "field {} opens a quote that the line does not close",
                            fields.len() + 1
                        ));
                    }
                }
            }
            while chars
                .next_if(|&c| c != delimiter && c.is_whitespace())
                .is_some()
            {}
            if chars.peek().is_some_and(|&c| c != delimiter) {
                return Err(format!(
                    "field {} has text after its closing quote",
                    fields.len() + 1
                ));
            }
        } else {
            while let Some(c) = chars.next_if(|&c| c != delimiter) {
                field.push(c);
            }
            field.truncate(field.trim_end().len());
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}
