//! Reading the CSV files that charts are drawn from (header-addressed, so added columns do not
//! break charts): whole (`Table`, for small files) or streamed row by row (`for_each_row`).

use std::path::Path;

/// A CSV file held as text cells (one allocation per row: a sweep's startups.csv has a row
/// per pod per run, hundreds of thousands of them).
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<csv::StringRecord>,
}

impl Table {
    pub fn read(path: &Path) -> Result<Table, String> {
        let shown = path.display();
        let mut rd = csv::Reader::from_path(path).map_err(|e| format!("{shown}: {e}"))?;
        let header = rd.headers().map_err(|e| format!("{shown}: {e}"))?.iter().map(str::to_string).collect();
        let mut rows = Vec::new();
        for r in rd.records() {
            rows.push(r.map_err(|e| format!("{shown}: {e}"))?);
        }
        Ok(Table { header, rows })
    }

    pub fn col(&self, name: &str) -> Result<usize, String> {
        self.header.iter().position(|h| h == name).ok_or_else(|| format!("no column {name}"))
    }

    /// The cell as a number; empty or unparsable = `None`.
    pub fn num(&self, row: usize, col: usize) -> Option<f64> {
        self.rows[row].get(col).and_then(|c| c.parse::<f64>().ok())
    }

    pub fn text(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).unwrap_or("")
    }
}

/// Calls `f` with every record of a CSV file and the indices of `cols` (one reused record).
pub(crate) fn for_each_row<const N: usize>(
    path: &Path,
    cols: &[&str; N],
    mut f: impl FnMut(&csv::StringRecord, &[usize; N]),
) -> Result<(), String> {
    let shown = path.display();
    let mut rd = csv::Reader::from_path(path).map_err(|e| format!("{shown}: {e}"))?;
    let header = rd.headers().map_err(|e| format!("{shown}: {e}"))?.clone();
    let mut idx = [0usize; N];
    for (i, name) in cols.iter().enumerate() {
        idx[i] =
            header.iter().position(|h| h == *name).ok_or_else(|| format!("{shown}: no column {name}"))?;
    }
    let mut rec = csv::StringRecord::new();
    while rd.read_record(&mut rec).map_err(|e| format!("{shown}: {e}"))? {
        f(&rec, &idx);
    }
    Ok(())
}

/// Points of an empirical CDF of `sorted` values (ascending), at most `max_points` of them:
/// (value, fraction of values <= value). Thinning keeps evenly spaced ranks and always the last.
pub(crate) fn ecdf(sorted: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let step = n.div_ceil(max_points.max(1)).max(1);
    let mut pts: Vec<(f64, f64)> =
        (0..n).step_by(step).map(|i| (sorted[i], (i + 1) as f64 / n as f64)).collect();
    if pts.last().map(|p| p.1) != Some(1.0) {
        pts.push((sorted[n - 1], 1.0));
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdf_by_hand() {
        assert_eq!(ecdf(&[1.0, 2.0, 3.0, 4.0], 10), vec![(1.0, 0.25), (2.0, 0.5), (3.0, 0.75), (4.0, 1.0)]);
        assert_eq!(ecdf(&[1.0, 2.0, 3.0, 4.0, 5.0], 2), vec![(1.0, 0.2), (4.0, 0.8), (5.0, 1.0)]);
        assert!(ecdf(&[], 5).is_empty());
    }
}
