//! The summary table, as Keras prints it.

use crate::step::SummaryRow;

/// A table of `rows` with totals: path, kind, output shape, parameter counts and bytes.
pub fn format_summary(rows: &[SummaryRow]) -> String {
    let shape = |r: &SummaryRow| {
        let inner: Vec<String> = r.shape.iter().map(usize::to_string).collect();
        if r.is_tensor_row() {
            format!("[{}]", inner.join(", "))
        } else {
            format!("[None, {}]", inner.join(", "))
        }
    };
    let header = [
        "Layer (path)",
        "Kind",
        "Output shape",
        "Trainable",
        "Non-trainable",
        "Bytes",
    ];
    let body: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.path.clone(),
                r.kind.clone(),
                shape(r),
                r.trainable.to_string(),
                r.non_trainable.to_string(),
                r.bytes.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < 3 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let rule = "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
    let mut out = vec![line(&header.map(String::from)), rule.clone()];
    out.extend(body.iter().map(|r| line(r)));
    out.push(rule);
    // Totals count top-level rows only: nested rows are already inside their parents' counts.
    let top = rows.iter().filter(|r| {
        !rows
            .iter()
            .any(|p| p.path != r.path && r.path.starts_with(&format!("{}/", p.path)))
    });
    let (trainable, non_trainable) =
        top.fold((0, 0), |(t, n), r| (t + r.trainable, n + r.non_trainable));
    let bytes = (trainable + non_trainable) * std::mem::size_of::<f32>();
    out.push(format!("Total parameters: {}", trainable + non_trainable));
    out.push(format!("Trainable: {trainable}"));
    out.push(format!("Non-trainable: {non_trainable}"));
    out.push(format!("Size: {bytes} bytes"));
    out.join("\n")
}
