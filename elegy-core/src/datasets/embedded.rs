//! Decoding the embedded files (see `elegy-core/data/README.md` for their format and origin).

use std::io::Read;

use super::LabelledData;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

const DIGITS_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");
const IRIS: &str = include_str!("../../data/iris.csv");
const BREAST_CANCER: &str = include_str!("../../data/breast_cancer.csv");
const WINE: &str = include_str!("../../data/wine_data.csv");

/// Handwritten digits: 1797 images of 8x8 pixels (values 0 to 16, row-major in 64 features named
/// `pixel_<row>_<column>`), labels 0 to 9.
///
/// ```
/// let digits = elegy_core::datasets::digits()?;
/// assert_eq!(digits.x.shape(), &[1797, 64]);
/// let images = digits.x.div_scalar(16.0).reshape(&[-1, 8, 8, 1])?;
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn digits() -> Result<LabelledData> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_GZ)
        .read_to_string(&mut text)
        .map_err(|e| format_error("digits.csv.gz", format!("cannot decompress: {e}")))?;
    let names = (0..10).map(|d| d.to_string()).collect();
    let mut data = parse_rows("digits.csv.gz", &text, 64, names)?;
    data.feature_names = (0..64)
        .map(|i| format!("pixel_{}_{}", i / 8, i % 8))
        .collect();
    Ok(data)
}

/// Iris: 150 flowers, 4 measurements (cm), 3 species (setosa, versicolor, virginica).
pub fn iris() -> Result<LabelledData> {
    let mut data = parse_with_header("iris.csv", IRIS)?;
    data.feature_names = names(&[
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ]);
    Ok(data)
}

/// Breast cancer (Wisconsin diagnostic): 569 tumours, 30 features (the mean, standard error and
/// worst value of ten measurements of cell nuclei), malignant (0) or benign (1).
pub fn breast_cancer() -> Result<LabelledData> {
    let mut data = parse_with_header("breast_cancer.csv", BREAST_CANCER)?;
    let measurements = [
        "radius",
        "texture",
        "perimeter",
        "area",
        "smoothness",
        "compactness",
        "concavity",
        "concave points",
        "symmetry",
        "fractal dimension",
    ];
    let mean = measurements.iter().map(|m| format!("mean {m}"));
    let error = measurements.iter().map(|m| format!("{m} error"));
    let worst = measurements.iter().map(|m| format!("worst {m}"));
    data.feature_names = mean.chain(error).chain(worst).collect();
    Ok(data)
}

/// Wine: 178 wines, 13 chemical measurements, 3 cultivars.
pub fn wine() -> Result<LabelledData> {
    let mut data = parse_with_header("wine_data.csv", WINE)?;
    data.feature_names = names(&[
        "alcohol",
        "malic_acid",
        "ash",
        "alcalinity_of_ash",
        "magnesium",
        "total_phenols",
        "flavanoids",
        "nonflavanoid_phenols",
        "proanthocyanins",
        "color_intensity",
        "hue",
        "od280/od315_of_diluted_wines",
        "proline",
    ]);
    Ok(data)
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn format_error(file: &str, message: String) -> Error {
    Error::Format {
        path: file.into(),
        message,
    }
}

/// Files whose first line is `samples,features,class names...`.
fn parse_with_header(file: &str, text: &str) -> Result<LabelledData> {
    let (header, body) = text
        .split_once('\n')
        .ok_or_else(|| format_error(file, "no header line".into()))?;
    let fields: Vec<&str> = header.trim().split(',').collect();
    let number = |i: usize| -> Result<usize> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format_error(file, format!("header field {i} is not a count")))
    };
    let (samples, features) = (number(0)?, number(1)?);
    let names = fields[2..].iter().map(|s| s.to_string()).collect();
    let data = parse_rows(file, body, features, names)?;
    if data.y.len() != samples {
        return Err(format_error(
            file,
            format!("header promises {samples} rows, found {}", data.y.len()),
        ));
    }
    Ok(data)
}

/// Rows of `features` numbers and then an integer label.
fn parse_rows(
    file: &str,
    text: &str,
    features: usize,
    class_names: Vec<String>,
) -> Result<LabelledData> {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let values = line
            .split(',')
            .map(|f| f.trim().parse::<f32>())
            .collect::<std::result::Result<Vec<f32>, _>>()
            .map_err(|e| format_error(file, format!("line {}: {e}", line_no + 1)))?;
        if values.len() != features + 1 {
            return Err(format_error(
                file,
                format!(
                    "line {}: {} fields, expected {}",
                    line_no + 1,
                    values.len(),
                    features + 1
                ),
            ));
        }
        let label = values[features];
        if label < 0.0 || label as usize >= class_names.len() || label.fract() != 0.0 {
            return Err(format_error(
                file,
                format!("line {}: bad label {label}", line_no + 1),
            ));
        }
        x.extend_from_slice(&values[..features]);
        y.push(label);
    }
    let n = y.len();
    Ok(LabelledData {
        x: Tensor::from_vec(x, &[n, features])?,
        y: Tensor::from(y),
        class_names,
        feature_names: Vec::new(),
    })
}
