//! `elegy::datasets`: the embedded datasets, the file readers (on small files made here), the
//! splits and the preprocessing helpers.

mod common;

use common::npy_with_header;
use std::io::Write;
use std::path::{Path, PathBuf};

use elegy::datasets::{self, CsvOptions, LabelColumn, LabelledData, Standardizer, Targets};
use elegy::{Data, Error, Tensor};
use ndarray::{Array2, ArrayD, IxDyn, ShapeBuilder, array};
use ndarray_npy::{NpzWriter, WriteNpyExt};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn temp() -> TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("the file is written");
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

/// An IDX file: magic `00 00 type ndim`, big-endian `u32` sizes, then `data` as given.
fn idx(type_code: u8, shape: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, type_code, shape.len() as u8];
    for &d in shape {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// Images `[n, h, w]` whose pixel is `(image * 10 + pixel index) % 256`, as IDX bytes.
fn idx_images(n: u32, h: u32, w: u32) -> Vec<u8> {
    let data: Vec<u8> = (0..n * h * w)
        .map(|i| ((i / (h * w)) * 10 + i % (h * w)) as u8)
        .collect();
    idx(0x08, &[n, h, w], &data)
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    idx(0x08, &[labels.len() as u32], labels)
}

/// The message of an error, which must name `path`.
#[track_caller]
fn message_naming(error: Error, path: &Path) -> String {
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the error should name {}: {message}",
        path.display()
    );
    message
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(result: elegy::Result<T>) -> Error {
    result.expect_err("an error was expected")
}

fn sum_f64(t: &Tensor) -> f64 {
    t.to_vec().iter().map(|&v| f64::from(v)).sum()
}

fn tensor(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).expect("values fill the shape")
}

// ---------------------------------------------------------------------------------------------
// Embedded datasets
// ---------------------------------------------------------------------------------------------

/// Checks counts, class names and checksums computed from the files (exact decimal sums).
///
/// Every feature is non-negative and rounding a decimal to `f32` changes it by at most 2^-24 of
/// its value, so the `f64` sum of the `f32` features is within 2^-24 (6e-8) of the exact sum,
/// relatively: a relative tolerance of 1e-7 catches any changed or missing value that matters.
/// Labels are small integers: their sum is exact.
#[track_caller]
fn assert_dataset(
    data: &LabelledData,
    (rows, features): (usize, usize),
    class_names: &[&str],
    (feature_sum, label_sum): (f64, f64),
) {
    assert_eq!(data.x.shape(), &[rows, features]);
    assert_eq!(data.y.shape(), &[rows]);
    assert_eq!(data.class_names, class_names);
    assert_eq!(data.feature_names.len(), features);
    let sum = sum_f64(&data.x);
    assert!(
        (sum - feature_sum).abs() <= 1e-7 * feature_sum,
        "feature sum {sum} != {feature_sum}"
    );
    assert_eq!(sum_f64(&data.y), label_sum);
}

#[test]
fn digits_has_1797_images_of_64_pixels_in_ten_classes() {
    let digits = datasets::digits().unwrap();
    let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_dataset(&digits, (1797, 64), &names, (561_718.0, 8070.0));
    assert_eq!(digits.feature_names[9], "pixel_1_1");
}

#[test]
fn iris_has_150_flowers_of_4_measurements_in_three_species() {
    let iris = datasets::iris().unwrap();
    let species = ["setosa", "versicolor", "virginica"];
    assert_dataset(&iris, (150, 4), &species, (2078.7, 150.0));
    assert_eq!(iris.feature_names[0], "sepal length (cm)");
}

#[test]
fn breast_cancer_has_569_tumours_of_30_features_in_two_classes() {
    let data = datasets::breast_cancer().unwrap();
    let classes = ["malignant", "benign"];
    assert_dataset(&data, (569, 30), &classes, (1_056_474.459_635_6, 357.0));
    assert_eq!(data.feature_names[10], "radius error");
    assert_eq!(data.feature_names[29], "worst fractal dimension");
}

#[test]
fn wine_has_178_wines_of_13_measurements_in_three_cultivars() {
    let wine = datasets::wine().unwrap();
    let classes = ["class_0", "class_1", "class_2"];
    assert_dataset(&wine, (178, 13), &classes, (159_975.295_999, 167.0));
    assert_eq!(wine.feature_names[12], "proline");
}

// ---------------------------------------------------------------------------------------------
// IDX and MNIST
// ---------------------------------------------------------------------------------------------

#[test]
fn read_idx_reads_unsigned_bytes_in_the_header_shape() {
    let dir = temp();
    let path = write(
        &dir,
        "images",
        &idx(0x08, &[2, 1, 3], &[0, 1, 2, 253, 254, 255]),
    );
    let t = datasets::read_idx(&path).unwrap();
    assert_eq!(t.shape(), &[2, 1, 3]);
    assert_eq!(t.to_vec(), vec![0.0, 1.0, 2.0, 253.0, 254.0, 255.0]);
}

#[test]
fn read_idx_decompresses_gzip_files() {
    let dir = temp();
    let path = write(&dir, "labels.gz", &gzip(&idx_labels(&[7, 2, 1])));
    assert_eq!(
        datasets::read_idx(&path).unwrap().to_vec(),
        vec![7.0, 2.0, 1.0]
    );
}

#[test]
fn read_idx_recognises_gzip_by_its_bytes_whatever_the_name() {
    let dir = temp();
    let path = write(&dir, "labels-idx1-ubyte", &gzip(&idx_labels(&[4, 5])));
    assert_eq!(datasets::read_idx(&path).unwrap().to_vec(), vec![4.0, 5.0]);
}

#[test]
fn read_idx_decodes_every_element_type_big_endian() {
    let cases: [(u8, Vec<u8>, Vec<f32>); 5] = [
        (0x09, vec![0xFF, 0x05], vec![-1.0, 5.0]),
        (
            0x0B,
            [-300i16, 2].iter().flat_map(|v| v.to_be_bytes()).collect(),
            vec![-300.0, 2.0],
        ),
        (
            0x0C,
            [-70_000i32, 9]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
            vec![-70_000.0, 9.0],
        ),
        (
            0x0D,
            [1.5f32, -0.25]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
            vec![1.5, -0.25],
        ),
        (
            0x0E,
            [2.5f64, -8.0]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
            vec![2.5, -8.0],
        ),
    ];
    let dir = temp();
    for (code, data, expected) in cases {
        let path = write(&dir, &format!("type{code}"), &idx(code, &[2], &data));
        assert_eq!(
            datasets::read_idx(&path).unwrap().to_vec(),
            expected,
            "type {code:#04x}"
        );
    }
}

#[test]
fn read_idx_reports_a_truncated_file_with_its_name_and_sizes() {
    let dir = temp();
    let mut bytes = idx_images(2, 4, 4);
    bytes.truncate(bytes.len() - 5);
    let path = write(&dir, "train-images-idx3-ubyte", &bytes);
    let message = message_naming(expect_err(datasets::read_idx(&path)), &path);
    assert!(message.contains("[2, 4, 4]"), "{message}");
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn read_idx_reports_a_truncated_gzip_download() {
    let dir = temp();
    let mut bytes = gzip(&idx_images(2, 4, 4));
    bytes.truncate(bytes.len() / 2);
    let path = write(&dir, "images.gz", &bytes);
    let message = message_naming(expect_err(datasets::read_idx(&path)), &path);
    assert!(message.contains("gzip"), "{message}");
}

#[test]
fn read_idx_refuses_a_header_shape_no_array_can_have() {
    // Sizes 0 x 2^32-1 x 2^32-1 hold no data, so the length matches, but no array has that shape.
    let dir = temp();
    let path = write(
        &dir,
        "crafted.idx",
        &idx(0x08, &[0, u32::MAX, u32::MAX], &[]),
    );
    let message = message_naming(expect_err(datasets::read_idx(&path)), &path);
    assert!(message.contains("cannot be an array"), "{message}");
}

#[test]
fn read_idx_rejects_a_file_that_is_not_idx() {
    let dir = temp();
    let path = write(&dir, "page.html", b"<html>not found</html>");
    let message = message_naming(expect_err(datasets::read_idx(&path)), &path);
    assert!(message.contains("not an IDX file"), "{message}");
}

/// A folder in the MNIST layout with 3 training and 2 test images of 4x4 pixels; some files
/// compressed, as downloads often are.
fn mnist_folder() -> TempDir {
    let dir = temp();
    write(
        &dir,
        "train-images-idx3-ubyte.gz",
        &gzip(&idx_images(3, 4, 4)),
    );
    write(
        &dir,
        "train-labels-idx1-ubyte.gz",
        &gzip(&idx_labels(&[5, 0, 4])),
    );
    write(&dir, "t10k-images-idx3-ubyte", &idx_images(2, 4, 4));
    write(&dir, "t10k-labels-idx1-ubyte", &idx_labels(&[7, 2]));
    dir
}

#[test]
fn mnist_reads_images_as_nhwc_with_raw_pixel_values_and_labels() {
    let dir = mnist_folder();
    let (train, test) = datasets::mnist(dir.path()).unwrap();
    assert_eq!(train.x.shape(), &[3, 4, 4, 1]);
    assert_eq!(test.x.shape(), &[2, 4, 4, 1]);
    assert_eq!(train.y.to_vec(), vec![5.0, 0.0, 4.0]);
    assert_eq!(test.y.to_vec(), vec![7.0, 2.0]);
    // Second training image, first pixels: 10, 11, ... (unscaled).
    assert_eq!(&train.x.to_vec()[16..18], &[10.0, 11.0]);
    assert_eq!(train.class_names.len(), 10);
}

#[test]
fn fashion_mnist_reads_the_same_layout_and_names_the_clothes() {
    let dir = mnist_folder();
    let (train, _) = datasets::fashion_mnist(dir.path()).unwrap();
    assert_eq!(train.x.shape(), &[3, 4, 4, 1]);
    assert_eq!(train.class_names[0], "T-shirt/top");
    assert_eq!(train.class_names[9], "Ankle boot");
}

#[test]
fn a_missing_mnist_folder_says_where_it_looked_which_files_and_where_to_get_them() {
    let dir = temp();
    let missing = dir.path().join("mnist");
    let error = expect_err(datasets::mnist(&missing));
    let message = message_naming(error, &missing);
    for file in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        ".gz",
        "does not exist",
        "yann.lecun.com",
    ] {
        assert!(message.contains(file), "`{file}` missing from: {message}");
    }
}

#[test]
fn a_missing_mnist_file_is_named_among_the_present_ones() {
    let dir = mnist_folder();
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    let error = expect_err(datasets::mnist(dir.path()));
    assert!(
        matches!(&error, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    let message = error.to_string();
    assert!(
        message.contains("missing: t10k-labels-idx1-ubyte ("),
        "{message}"
    );
}

#[test]
fn a_missing_fashion_mnist_folder_points_to_its_publisher() {
    let dir = temp();
    let message = expect_err(datasets::fashion_mnist(dir.path().join("fashion"))).to_string();
    assert!(
        message.contains("zalandoresearch/fashion-mnist"),
        "{message}"
    );
}

#[test]
fn mnist_labels_that_do_not_match_the_images_are_an_error_naming_both_files() {
    let dir = mnist_folder();
    write(&dir, "t10k-labels-idx1-ubyte", &idx_labels(&[7, 2, 1]));
    let labels = dir.path().join("t10k-labels-idx1-ubyte");
    let message = message_naming(expect_err(datasets::mnist(dir.path())), &labels);
    assert!(message.contains("t10k-images-idx3-ubyte"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

const FLOWERS: &str = "\
petal_length,species,petal_width
1.4,setosa,0.2
4.7,versicolor,1.4

6.0,virginica,2.5
1.3,setosa,0.2
";

#[test]
fn read_csv_maps_named_label_strings_to_sorted_class_indices() {
    let dir = temp();
    let path = write(&dir, "flowers.csv", FLOWERS.as_bytes());
    let data = datasets::read_csv(&path, CsvOptions::label("species")).unwrap();
    assert_eq!(data.x.shape(), &[4, 2]);
    assert_eq!(
        data.x.to_vec(),
        vec![1.4, 0.2, 4.7, 1.4, 6.0, 2.5, 1.3, 0.2]
    );
    assert_eq!(data.y.to_vec(), vec![0.0, 1.0, 2.0, 0.0]);
    assert_eq!(data.class_names, ["setosa", "versicolor", "virginica"]);
    assert_eq!(data.feature_names, ["petal_length", "petal_width"]);
}

#[test]
fn read_csv_sorts_label_names_so_that_row_order_does_not_matter() {
    let dir = temp();
    let path = write(&dir, "pets.csv", b"weight,kind\n30,dog\n4,cat\n");
    let data = datasets::read_csv(&path, CsvOptions::label("kind")).unwrap();
    assert_eq!(data.class_names, ["cat", "dog"]);
    assert_eq!(data.y.to_vec(), vec![1.0, 0.0]);
}

#[test]
fn read_csv_keeps_integer_labels_chosen_by_index() {
    let dir = temp();
    let path = write(&dir, "digits.csv", b"label,a,b\n3,0.5,1\n0,2,-1\n");
    let data = datasets::read_csv(&path, CsvOptions::label(0)).unwrap();
    assert_eq!(data.y.to_vec(), vec![3.0, 0.0]);
    assert_eq!(data.class_names, ["0", "1", "2", "3"]);
    assert_eq!(data.x.to_vec(), vec![0.5, 1.0, 2.0, -1.0]);
}

#[test]
fn read_csv_takes_the_last_column_by_default() {
    let dir = temp();
    let path = write(&dir, "t.csv", b"a,b,y\n1,2,1\n3,4,0\n");
    let data = datasets::read_csv(&path, CsvOptions::default()).unwrap();
    assert_eq!(data.feature_names, ["a", "b"]);
    assert_eq!(data.y.to_vec(), vec![1.0, 0.0]);
}

#[test]
fn read_csv_keeps_non_integer_numeric_targets_without_class_names() {
    let dir = temp();
    let path = write(&dir, "prices.csv", b"rooms,price\n3,250.5\n2,-1\n");
    let data = datasets::read_csv(&path, CsvOptions::label("price")).unwrap();
    assert_eq!(data.y.to_vec(), vec![250.5, -1.0]);
    assert!(data.class_names.is_empty());
}

#[test]
fn read_csv_names_the_line_and_column_of_a_bad_number() {
    let dir = temp();
    let text = FLOWERS.replace("6.0,virginica", "6.O,virginica");
    let path = write(&dir, "flowers.csv", text.as_bytes());
    let error = expect_err(datasets::read_csv(&path, CsvOptions::label("species")));
    let message = message_naming(error, &path);
    assert!(
        message.contains("line 5, column 0 (`petal_length`"),
        "{message}"
    );
    assert!(message.contains("`6.O` is not a number"), "{message}");
}

#[test]
fn read_csv_names_the_line_of_a_row_of_the_wrong_length() {
    let dir = temp();
    let path = write(&dir, "t.csv", b"a,b,y\n1,2,0\n3,1\n");
    let message = message_naming(
        expect_err(datasets::read_csv(&path, CsvOptions::default())),
        &path,
    );
    assert!(
        message.contains("line 3: 2 fields, but the header has 3"),
        "{message}"
    );
}

#[test]
fn read_csv_lists_the_header_when_the_label_column_is_unknown() {
    let dir = temp();
    let path = write(&dir, "flowers.csv", FLOWERS.as_bytes());
    let error = expect_err(datasets::read_csv(&path, CsvOptions::label("Species")));
    let message = error.to_string();
    assert!(
        message.contains("`petal_length`, `species`, `petal_width`"),
        "{message}"
    );
}

#[test]
fn read_csv_reads_integer_targets_with_more_classes_than_rows_as_values_or_as_the_ids_that_occur() {
    // Years: 2021 "classes" for 3 rows would be a regression target read as classes.
    let dir = temp();
    let path = write(&dir, "years.csv", b"x,year\n1,2019\n2,2020\n3,2018\n");
    let data = datasets::read_csv(&path, CsvOptions::label("year")).unwrap();
    assert_eq!(data.y.to_vec(), vec![2019.0, 2020.0, 2018.0]);
    assert!(data.class_names.is_empty());
    let classes = CsvOptions {
        targets: Targets::Classes,
        ..CsvOptions::label("year")
    };
    // Told they are classes, the years that occur are the classes (not 2021 of them).
    let data = datasets::read_csv(&path, classes).unwrap();
    assert_eq!(data.class_names, ["2018", "2019", "2020"]);
    assert_eq!(data.y.to_vec(), vec![1.0, 2.0, 0.0]);

    // Few integer labels stay classes; Values keeps them as numbers and refuses names.
    let path = write(&dir, "digits.csv", b"x,digit\n1,3\n2,0\n");
    let data = datasets::read_csv(&path, CsvOptions::default()).unwrap();
    assert_eq!(data.class_names, ["0", "1", "2", "3"]);
    let values = CsvOptions {
        targets: Targets::Values,
        ..CsvOptions::default()
    };
    let data = datasets::read_csv(&path, values.clone()).unwrap();
    assert!(data.class_names.is_empty());
    assert_eq!(data.y.to_vec(), vec![3.0, 0.0]);
    let path = write(&dir, "named.csv", b"x,kind\n1,cat\n2,dog\n");
    let err = expect_err(datasets::read_csv(&path, values)).to_string();
    assert!(
        err.contains("line 2") && err.contains("`cat` is not a number"),
        "{err}"
    );
}

#[test]
fn read_csv_with_classes_makes_one_class_per_label_that_occurs_not_per_integer_up_to_the_largest() {
    // 24 bytes once made 10,000,001 class names (549 MB).
    let dir = temp();
    let path = write(&dir, "sparse.csv", b"x,y\n1,10000000\n2,5\n3,5\n");
    let classes = CsvOptions {
        targets: Targets::Classes,
        ..CsvOptions::default()
    };
    let data = datasets::read_csv(&path, classes).unwrap();
    assert_eq!(data.class_names, ["5", "10000000"]);
    assert_eq!(data.y.to_vec(), vec![1.0, 0.0, 0.0]);
}

#[test]
fn read_csv_refuses_missing_labels_instead_of_renumbering_the_classes() {
    let dir = temp();
    // Taken as class names, `NA` would sort the classes as text: "10" before "2".
    let path = write(&dir, "na.csv", b"x,y\n1,0\n2,1\n3,2\n4,10\n5,NA\n");
    let err = expect_err(datasets::read_csv(&path, CsvOptions::default())).to_string();
    assert!(
        err.contains("line 6") && err.contains("`NA` is not a number, but other labels are"),
        "{err}"
    );
    assert!(
        err.contains("`0` on line 2") && err.contains("Targets::Classes"),
        "{err}"
    );
    // Asked for class names, the same column is read as such.
    let classes = CsvOptions {
        targets: Targets::Classes,
        ..CsvOptions::default()
    };
    let data = datasets::read_csv(&path, classes).unwrap();
    assert_eq!(data.class_names, ["0", "1", "10", "2", "NA"]);

    // An empty label, or a delimiter at the end of every line (an empty last column).
    for (name, text, line) in [
        ("empty.csv", &b"x,y\n1,0\n2,\n"[..], "line 3"),
        ("trailing.csv", &b"a,b,label,\n1,2,0,\n"[..], "line 2"),
    ] {
        let path = write(&dir, name, text);
        let err = expect_err(datasets::read_csv(&path, CsvOptions::default())).to_string();
        assert!(
            err.contains(line) && err.contains("the label is empty"),
            "{name}: {err}"
        );
    }
}

#[test]
fn read_csv_unquotes_fields_and_honours_the_delimiter() {
    let dir = temp();
    let text = "x; \"name; with \"\"quotes\"\"\"\n1,5; \"a;b\"\n2; b\n";
    let path = write(&dir, "t.csv", text.as_bytes());
    let options = CsvOptions {
        delimiter: ';',
        ..CsvOptions::default()
    };
    let err = expect_err(datasets::read_csv(&path, options.clone())).to_string();
    assert!(err.contains("`1,5` is not a number"), "{err}");

    let path = write(&dir, "t.csv", text.replace("1,5", "1.5").as_bytes());
    let data = datasets::read_csv(&path, options).unwrap();
    assert_eq!(data.class_names, ["a;b", "b"]);
    assert_eq!(data.x.to_vec(), vec![1.5, 2.0]);
    assert_eq!(data.feature_names, ["x"]);
}

#[test]
fn read_csv_without_a_header_reads_every_line_as_data() {
    let dir = temp();
    let path = write(&dir, "t.tsv", b"1\t2\t0\n3\t4\t1\n");
    let options = CsvOptions {
        label_column: LabelColumn::Index(2),
        delimiter: '\t',
        has_header: false,
        ..CsvOptions::default()
    };
    let data = datasets::read_csv(&path, options).unwrap();
    assert_eq!(data.x.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(data.feature_names, ["column 0", "column 1"]);
}

#[test]
fn read_csv_of_a_missing_file_names_it() {
    let dir = temp();
    let path = dir.path().join("absent.csv");
    let error = expect_err(datasets::read_csv(&path, CsvOptions::default()));
    assert!(matches!(error, Error::Io { .. }));
    message_naming(error, &path);
}

// ---------------------------------------------------------------------------------------------
// .npy / .npz
// ---------------------------------------------------------------------------------------------

#[test]
fn write_npy_then_read_npy_gives_back_the_tensor() {
    let dir = temp();
    let path = dir.path().join("x.npy");
    let x = tensor(&[1.5, -2.0, 0.0, 1e-30, f32::MAX, 7.0], &[3, 1, 2]);
    datasets::write_npy(&path, &x).unwrap();
    assert_eq!(datasets::read_npy(&path).unwrap(), x);
}

/// Writes `array` with ndarray-npy as NumPy would store its dtype, and reads it back as `f32`.
fn npy_round_trip<A: ndarray_npy::WritableElement>(array: ArrayD<A>) -> Tensor {
    let dir = temp();
    let path = dir.path().join("a.npy");
    array
        .write_npy(std::fs::File::create(&path).unwrap())
        .unwrap();
    datasets::read_npy(&path).unwrap()
}

#[test]
fn read_npy_converts_every_numeric_dtype_to_f32() {
    let shape = IxDyn(&[2, 2]);
    let expected = vec![0.0, 1.0, 2.0, 3.0];
    let cases: Vec<(&str, Tensor)> = vec![
        (
            "f8",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as f64
            })),
        ),
        (
            "i1",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as i8
            })),
        ),
        (
            "i2",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as i16
            })),
        ),
        (
            "i4",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as i32
            })),
        ),
        (
            "i8",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as i64
            })),
        ),
        (
            "u1",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as u8
            })),
        ),
        (
            "u2",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as u16
            })),
        ),
        (
            "u4",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as u32
            })),
        ),
        (
            "u8",
            npy_round_trip(ArrayD::from_shape_fn(shape.clone(), |i| {
                (i[0] * 2 + i[1]) as u64
            })),
        ),
    ];
    for (dtype, t) in cases {
        assert_eq!(t.shape(), &[2, 2], "{dtype}");
        assert_eq!(t.to_vec(), expected, "{dtype}");
    }
    let flags = npy_round_trip(array![[true, false]].into_dyn());
    assert_eq!(flags.to_vec(), vec![1.0, 0.0]);
}

/// A `.npy` file written byte by byte as NumPy lays it out (format 1.0), independently of the
/// library that reads it.
fn handmade_npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header, padded with spaces to 64 bytes, then \n.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn read_npy_reads_fortran_order_big_endian_files_in_row_major_order() {
    let dir = temp();
    // Column-major [[1, 2, 3], [4, 5, 6]] stored as big-endian int64.
    let data: Vec<u8> = [1i64, 4, 2, 5, 3, 6]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let path = write(&dir, "f.npy", &handmade_npy(">i8", true, "(2, 3)", &data));
    let t = datasets::read_npy(&path).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(t.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn read_npy_names_the_file_and_dtype_it_cannot_convert() {
    let dir = temp();
    let path = write(
        &dir,
        "half.npy",
        &handmade_npy("<f2", false, "(2,)", &[0; 4]),
    );
    let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
    assert!(message.contains("<f2"), "{message}");
}

#[test]
fn read_npy_reports_a_truncated_file() {
    let dir = temp();
    let path = write(
        &dir,
        "short.npy",
        &handmade_npy("<f4", false, "(3,)", &[0; 8]),
    );
    let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn read_npy_refuses_a_header_that_promises_more_than_the_file_holds() {
    // Without the check the reader allocates what the header promises (4 TiB here) and the
    // process aborts; an axis product past usize is refused as well.
    let dir = temp();
    for (name, shape, data) in [
        ("huge.npy", "(1099511627776,)", &[0u8; 8][..]),
        ("overflow.npy", "(0, 1099511627776, 1099511627776)", &[][..]),
    ] {
        let path = write(&dir, name, &handmade_npy("<f4", false, shape, data));
        let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
        assert!(message.contains("header"), "{message}");
    }
    // The check lets through what it cannot judge, and exact files.
    let path = write(&dir, "ok.npy", &handmade_npy("<f4", false, "(2,)", &[0; 8]));
    assert_eq!(datasets::read_npy(&path).unwrap().shape(), &[2]);
}

#[test]
fn read_npz_refuses_a_member_whose_header_promises_more_than_it_holds() {
    let dir = temp();
    let path = dir.path().join("crafted.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, shape) in [("ok.npy", "(2,)"), ("huge.npy", "(1099511627776,)")] {
        zip.start_file(name, stored).unwrap();
        zip.write_all(&handmade_npy("<f4", false, shape, &[0; 8]))
            .unwrap();
    }
    zip.finish().unwrap();
    let message = message_naming(expect_err(datasets::read_npz(&path)), &path);
    assert!(message.contains("member `huge.npy`"), "{message}");
    assert!(message.contains("header promises"), "{message}");
}

#[test]
fn write_npz_then_read_npz_gives_back_every_named_tensor() {
    let dir = temp();
    let path = dir.path().join("data.npz");
    let x = tensor(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let y = tensor(&[0.0, 1.0, 0.0], &[3]);
    datasets::write_npz(&path, [("x", &x), ("y", &y)]).unwrap();
    let arrays = datasets::read_npz(&path).unwrap();
    assert_eq!(arrays.keys().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(arrays["x"], x);
    assert_eq!(arrays["y"], y);
}

#[test]
fn read_npz_reads_compressed_archives_of_mixed_dtypes() {
    let dir = temp();
    let path = dir.path().join("mixed.npz");
    let mut npz = NpzWriter::new_compressed(std::fs::File::create(&path).unwrap());
    npz.add_array("images", &Array2::<u8>::from_elem((2, 3), 255))
        .unwrap();
    npz.add_array("labels", &array![3i64, 9]).unwrap();
    npz.add_array("weights", &array![0.5f64, 0.25]).unwrap();
    npz.finish().unwrap();
    let arrays = datasets::read_npz(&path).unwrap();
    assert_eq!(arrays["images"].to_vec(), vec![255.0; 6]);
    assert_eq!(arrays["labels"].to_vec(), vec![3.0, 9.0]);
    assert_eq!(arrays["weights"].to_vec(), vec![0.5, 0.25]);
}

#[test]
fn read_npz_reads_fortran_order_arrays_in_row_major_order() {
    let dir = temp();
    let path = dir.path().join("f.npz");
    let column_major = Array2::from_shape_vec((2, 2).f(), vec![1.0f32, 3.0, 2.0, 4.0]).unwrap();
    let mut npz = NpzWriter::new(std::fs::File::create(&path).unwrap());
    npz.add_array("a", &column_major).unwrap();
    npz.finish().unwrap();
    let a = &datasets::read_npz(&path).unwrap()["a"];
    assert_eq!(a.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn read_npy_parses_any_header_numpy_accepts_whatever_its_quotes_order_commas_and_version() {
    let dir = temp();
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let headers = [
        (
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        ),
        (
            1,
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
        ),
        (1, "{'shape':(2,3),'descr':'<f4','fortran_order':False}"),
        (
            1,
            "{ 'fortran_order' : False ,\n 'shape' : ( 2 , 3 , ) , 'descr' : u'<f4' , }",
        ),
        (
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L)}",
        ),
        (
            2,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        ),
        (
            3,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        ),
    ];
    for (major, dict) in headers {
        let path = write(&dir, "h.npy", &npy_with_header(major, dict, &data));
        let t = datasets::read_npy(&path).unwrap_or_else(|e| panic!("{dict}: {e}"));
        assert_eq!(t.shape(), &[2, 3], "{dict}");
        assert_eq!(t.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "{dict}");
    }
    // A scalar: the empty shape.
    let scalar = npy_with_header(
        1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
        &2.5f64.to_le_bytes(),
    );
    let path = write(&dir, "s.npy", &scalar);
    assert_eq!(datasets::read_npy(&path).unwrap().to_vec(), vec![2.5]);
}

#[test]
fn read_npy_refuses_a_header_that_is_not_numpys_saying_what_is_wrong() {
    let dir = temp();
    let cases = [
        (
            "{'descr': '<f4', 'fortran_order': False}",
            "'shape' is missing",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
            "unexpected key 'x'",
        ),
        (
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
            "not True or False",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
            "non-negative integers",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': 2}",
            "non-negative integers",
        ),
        (
            "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,)}",
            "structured",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
            "not a NumPy header",
        ),
        ("['descr', '<f4']", "not a dict"),
    ];
    for (dict, expected) in cases {
        let path = write(&dir, "bad.npy", &npy_with_header(1, dict, &[0; 8]));
        let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
        assert!(message.contains(expected), "{dict}: {message}");
    }
}

#[test]
fn read_npy_checks_the_header_length_and_version_before_reading_the_header() {
    let dir = temp();
    let valid = npy_with_header(
        1,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
        &[0; 8],
    );
    // Version 2.0 reads a 4-byte length field: two bytes of the header text make it ~632 MB.
    let mut flipped = valid.clone();
    flipped[6] = 2;
    let path = write(&dir, "v2.npy", &flipped);
    let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
    assert!(message.contains("length field"), "{message}");
    let mut unknown = valid.clone();
    unknown[6] = 4;
    let path = write(&dir, "v4.npy", &unknown);
    let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
    assert!(message.contains("format version 4.0"), "{message}");
    let path = write(&dir, "not.npy", b"\x93NUMPX\x01\x00\x00\x00");
    let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
    assert!(message.contains("not a .npy file"), "{message}");
    // Bytes past the data are refused too (the header says how much there is).
    let mut longer = valid;
    longer.push(0);
    let path = write(&dir, "long.npy", &longer);
    let message = message_naming(expect_err(datasets::read_npy(&path)), &path);
    assert!(message.contains("bytes past the data"), "{message}");
}

#[test]
fn read_npz_checks_every_member_and_the_archive_itself() {
    let dir = temp();
    let path = dir.path().join("d.npz");
    datasets::write_npz(&path, [("x", &Tensor::ones(&[4]))]).unwrap();
    let valid = std::fs::read(&path).unwrap();
    // A flipped data byte: the member's CRC-32 no longer matches.
    let data_at = valid.len() / 2;
    let mut corrupt = valid.clone();
    corrupt[data_at] ^= 0x10;
    let path = write(&dir, "crc.npz", &corrupt);
    let message = message_naming(expect_err(datasets::read_npz(&path)), &path);
    assert!(message.contains("member `x.npy`"), "{message}");
    // Truncated: the end record is gone.
    let path = write(&dir, "cut.npz", &valid[..valid.len() - 10]);
    let message = message_naming(expect_err(datasets::read_npz(&path)), &path);
    assert!(message.contains("not a zip archive"), "{message}");
}

#[test]
fn read_npz_of_a_file_that_is_not_a_zip_names_it() {
    let dir = temp();
    let path = write(&dir, "x.npz", b"plain text");
    message_naming(expect_err(datasets::read_npz(&path)), &path);
}

#[test]
fn write_npz_refuses_a_name_given_twice() {
    let dir = temp();
    let x = Tensor::zeros(&[1]);
    let error = expect_err(datasets::write_npz(
        dir.path().join("d.npz"),
        [("x", &x), ("x", &x)],
    ));
    assert!(error.to_string().contains("`x` is given twice"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Splits
// ---------------------------------------------------------------------------------------------

/// 100 samples: 60 of class 0, 30 of class 1, 10 of class 2; `x` holds each sample's index.
fn unbalanced() -> (Tensor, Tensor) {
    let labels: Vec<f32> = (0..100)
        .map(|i| match i {
            0..60 => 0.0,
            60..90 => 1.0,
            _ => 2.0,
        })
        .collect();
    let x = Tensor::from_vec((0..100).map(|i| i as f32).collect(), &[100, 1]).unwrap();
    (x, Tensor::from(labels))
}

fn class_counts(y: &Data) -> [usize; 3] {
    let mut counts = [0; 3];
    for label in y.as_tensor("y").unwrap().to_vec() {
        counts[label as usize] += 1;
    }
    counts
}

#[test]
fn stratified_split_keeps_class_proportions_in_both_sets() {
    let (x, y) = unbalanced();
    let (_, y_train, _, y_test) = datasets::stratified_train_test_split(x, y, 0.2, 3).unwrap();
    assert_eq!(class_counts(&y_test), [12, 6, 2]);
    assert_eq!(class_counts(&y_train), [48, 24, 8]);
}

#[test]
fn stratified_split_gives_the_rounding_remainder_to_the_largest_remainders() {
    // 7 of class 0, 3 of class 1; 30% of 10 = 3: floors 2 and 0, remainders 0.1 and 0.9.
    let y = Tensor::from(vec![0.0f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let (_, _, _, y_test) =
        datasets::stratified_train_test_split(Tensor::zeros(&[10, 1]), y, 0.3, 0).unwrap();
    let test = y_test.as_tensor("y").unwrap().to_vec();
    assert_eq!(test.len(), 3);
    assert_eq!(test.iter().filter(|&&l| l == 1.0).count(), 1);
}

#[test]
fn stratified_split_keeps_each_sample_with_its_label_and_loses_none() {
    let (x, y) = unbalanced();
    let labels = y.to_vec();
    let (x_train, y_train, x_test, y_test) =
        datasets::stratified_train_test_split(x, y, 0.25, 11).unwrap();
    let mut seen = Vec::new();
    for (x, y) in [(x_train, y_train), (x_test, y_test)] {
        let (x, y) = (
            x.as_tensor("x").unwrap().to_vec(),
            y.as_tensor("y").unwrap().to_vec(),
        );
        for (index, label) in x.iter().zip(&y) {
            assert_eq!(labels[*index as usize], *label);
            seen.push(*index as usize);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
}

#[test]
fn stratified_split_is_reproducible_from_its_seed() {
    let (x, y) = unbalanced();
    let first = datasets::stratified_train_test_split(x.clone(), y.clone(), 0.2, 5).unwrap();
    let again = datasets::stratified_train_test_split(x.clone(), y.clone(), 0.2, 5).unwrap();
    let other = datasets::stratified_train_test_split(x, y, 0.2, 6).unwrap();
    assert_eq!(first.2, again.2);
    assert_ne!(first.2, other.2);
}

#[test]
fn stratified_split_rejects_one_hot_targets() {
    let (x, y) = unbalanced();
    let one_hot = datasets::one_hot(&y, 3).unwrap();
    let error = expect_err(datasets::stratified_train_test_split(x, one_hot, 0.2, 0));
    assert!(error.to_string().contains("argmax"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Standardizer and one-hot
// ---------------------------------------------------------------------------------------------

#[test]
fn standardizer_fits_population_mean_and_std_per_feature() {
    // Feature 0: 1, 3, 5 (mean 3, std sqrt(8/3)); feature 1: 10, 20, 30 (mean 20, std sqrt(200/3)).
    let train = tensor(&[1.0, 10.0, 3.0, 20.0, 5.0, 30.0], &[3, 2]);
    let scaler = Standardizer::fit(&train).unwrap();
    assert_eq!(scaler.mean().to_vec(), vec![3.0, 20.0]);
    let scale = scaler.scale().to_vec();
    assert!((scale[0] - (8.0f32 / 3.0).sqrt()).abs() < 1e-6);
    assert!((scale[1] - (200.0f32 / 3.0).sqrt()).abs() < 1e-5);
}

#[test]
fn standardized_training_features_have_mean_zero_and_unit_std() {
    let iris = datasets::iris().unwrap();
    let x = Standardizer::fit(&iris.x)
        .unwrap()
        .transform(&iris.x)
        .unwrap();
    let mean = x.mean(&[0], false).unwrap().to_vec();
    let var = x.square().mean(&[0], false).unwrap().to_vec();
    for (m, v) in mean.iter().zip(&var) {
        assert!(m.abs() < 1e-5, "mean {m}");
        assert!((v - 1.0).abs() < 1e-4, "variance {v}");
    }
}

#[test]
fn standardizer_applies_training_statistics_to_new_data() {
    let scaler = Standardizer::fit(&tensor(&[0.0, 2.0], &[2, 1])).unwrap();
    let test = scaler.transform(&tensor(&[4.0], &[1, 1])).unwrap();
    assert_eq!(test.to_vec(), vec![3.0]);
    assert_eq!(scaler.inverse_transform(&test).unwrap().to_vec(), vec![4.0]);
}

#[test]
fn a_constant_feature_is_centred_to_zero_not_nan() {
    let x = tensor(&[5.0, 1.0, 5.0, 2.0], &[2, 2]);
    let scaler = Standardizer::fit(&x).unwrap();
    assert_eq!(scaler.scale().to_vec()[0], 1.0);
    let t = scaler.transform(&x).unwrap().to_vec();
    assert_eq!((t[0], t[2]), (0.0, 0.0));
}

#[test]
fn standardizer_keeps_per_pixel_statistics_of_images() {
    let x = Tensor::new(ArrayD::from_shape_fn(IxDyn(&[3, 2, 2, 1]), |i| {
        (i[0] * 10 + i[1]) as f32
    }));
    let scaler = Standardizer::fit(&x).unwrap();
    assert_eq!(scaler.mean().shape(), &[2, 2, 1]);
    assert_eq!(scaler.mean().to_vec(), vec![10.0, 10.0, 11.0, 11.0]);
}

#[test]
fn standardizer_rejects_nan_naming_sample_and_feature() {
    let x = tensor(&[1.0, 2.0, 3.0, f32::NAN], &[2, 2]);
    let error = expect_err(Standardizer::fit(&x));
    assert!(
        error.to_string().contains("NaN at sample 1, feature 1"),
        "{error}"
    );
}

#[test]
fn standardizer_rejects_samples_of_another_shape() {
    let scaler = Standardizer::fit(&Tensor::zeros(&[4, 3])).unwrap();
    let error = expect_err(scaler.transform(&Tensor::zeros(&[4, 2])));
    assert!(error.to_string().contains("[4, 2]"), "{error}");
    assert!(error.to_string().contains("[samples, 3]"), "{error}");
}

#[test]
fn one_hot_puts_a_one_at_each_label() {
    let labels = Tensor::from(vec![1.0f32, 0.0]);
    let encoded = datasets::one_hot(&labels, 2).unwrap();
    assert_eq!(encoded.shape(), &[2, 2]);
    assert_eq!(encoded.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
}
