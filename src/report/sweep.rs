//! Files of a sweep folder: `runs.csv`, `startups.csv`, `variants.csv`, `sweep.json`,
//! `scenario.toml`, `command.txt`. Writing goes into a `Staging` folder (atomic like `run`);
//! reading is what `merge` and `chart` use, so a folder can be rebuilt from its CSVs alone.
//!
//! A shard's folder has no `variants.csv` (statistics need every seed of every variant);
//! `merge` computes it from the combined `runs.csv` with the same code as an unsharded sweep.

use crate::experiment::plan::Plan;
use crate::experiment::{
    self, Manifest, RunRow, StartupRows, StartupRowsEncoder, VariantStats, STARTUPS_HEADER,
};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The per-run tables of a sweep, in plan order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepTables {
    pub header: Vec<String>,
    pub runs: Vec<RunRow>,
    /// `startups.csv` rows by run, in plan order (pods in pod order within a run).
    pub startups: Vec<StartupRows>,
}

fn csv_writer(path: &Path) -> io::Result<csv::Writer<BufWriter<File>>> {
    Ok(csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, File::create(path)?)))
}

/// Writes the folder's files into `dir`; returns the statistics when the folder is a whole
/// sweep (not a shard).
pub fn write_sweep_files(
    dir: &Path,
    manifest: &Manifest,
    tables: &SweepTables,
    scenario_text: &str,
    command: &str,
) -> io::Result<Option<Vec<VariantStats>>> {
    let mut w = csv_writer(&dir.join("runs.csv"))?;
    w.write_record(&tables.header).map_err(io::Error::other)?;
    for r in &tables.runs {
        w.write_record(&r.cells).map_err(io::Error::other)?;
    }
    w.flush()?;
    let mut w = csv_writer(&dir.join("startups.csv"))?;
    w.write_record(STARTUPS_HEADER).map_err(io::Error::other)?;
    w.flush()?;
    let mut w = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
    for rows in &tables.startups {
        w.write_all(&rows.csv)?;
    }
    w.flush()?;
    let mut json = serde_json::to_string_pretty(manifest).map_err(io::Error::other)?;
    json.push('\n');
    fs::write(dir.join("sweep.json"), json)?;
    fs::write(dir.join("scenario.toml"), scenario_text)?;
    let mut f = File::create(dir.join("command.txt"))?;
    writeln!(f, "{command}")?;
    if manifest.shard.is_some() {
        return Ok(None);
    }
    let (plan, columns) = (&manifest.plan, &manifest.columns);
    let stats =
        experiment::variant_stats(plan, columns, &tables.header, &tables.runs).map_err(io::Error::other)?;
    let mut w = csv_writer(&dir.join("variants.csv"))?;
    w.write_record(experiment::variants_header(plan, columns)).map_err(io::Error::other)?;
    for r in experiment::variants_rows(plan, columns, &stats) {
        w.write_record(r).map_err(io::Error::other)?;
    }
    w.flush()?;
    Ok(Some(stats))
}

/// Plan run index of a (variant name, seed) pair.
fn run_index(plan: &Plan, variant: &str, seed: &str) -> Option<usize> {
    let v = plan.variants.iter().position(|x| x.name == variant)?;
    let seed: u64 = seed.parse().ok()?;
    let s = plan.seeds.iter().position(|&x| x == seed)?;
    Some(v * plan.seeds.len() + s)
}

/// A sweep folder as written: its manifest, tables and scenario text.
pub struct SweepFolder {
    pub manifest: Manifest,
    pub tables: SweepTables,
    pub scenario_text: String,
}

/// Reads a sweep (or shard) folder. Errors name the file.
pub fn read_sweep_folder(dir: &Path) -> Result<SweepFolder, String> {
    let shown = |f: &str| dir.join(f).display().to_string();
    let text = |f: &str| fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", shown(f)));
    let manifest: Manifest =
        serde_json::from_str(&text("sweep.json")?).map_err(|e| format!("{}: {e}", shown("sweep.json")))?;
    let scenario_text = text("scenario.toml")?;
    let plan = &manifest.plan;
    let mut rd =
        csv::Reader::from_path(dir.join("runs.csv")).map_err(|e| format!("{}: {e}", shown("runs.csv")))?;
    let header: Vec<String> =
        rd.headers().map_err(|e| format!("{}: {e}", shown("runs.csv")))?.iter().map(str::to_string).collect();
    let seed_col = header
        .iter()
        .position(|h| h == "seed")
        .ok_or_else(|| format!("{}: no seed column", shown("runs.csv")))?;
    let mut runs = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", shown("runs.csv")))?;
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        let run = run_index(plan, &cells[0], cells.get(seed_col).map(String::as_str).unwrap_or(""))
            .ok_or_else(|| {
                format!("{}: row {:?} is not in the plan of sweep.json", shown("runs.csv"), cells[0])
            })?;
        runs.push(RunRow { run, cells });
    }
    let mut rd = csv::Reader::from_path(dir.join("startups.csv"))
        .map_err(|e| format!("{}: {e}", shown("startups.csv")))?;
    // Consecutive rows of one run form one block, re-encoded as they were written.
    let mut startups = Vec::new();
    let mut block: Option<StartupRowsEncoder> = None;
    for rec in rd.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", shown("startups.csv")))?;
        if rec.len() != 3 {
            return Err(format!("{}: expected 3 columns", shown("startups.csv")));
        }
        let run = run_index(plan, &rec[0], &rec[1]).ok_or_else(|| {
            format!("{}: row {:?} is not in the plan of sweep.json", shown("startups.csv"), &rec[0])
        })?;
        if block.as_ref().map(StartupRowsEncoder::run) != Some(run) {
            startups.extend(block.replace(StartupRowsEncoder::new(run)).map(StartupRowsEncoder::finish));
        }
        if let Some(b) = block.as_mut() {
            b.push([&rec[0], &rec[1], &rec[2]], rec[2].parse::<f64>().ok());
        }
    }
    startups.extend(block.map(StartupRowsEncoder::finish));
    Ok(SweepFolder { manifest, tables: SweepTables { header, runs, startups }, scenario_text })
}

/// Combines shard folders into the tables of the whole sweep, checking that they come from
/// the same scenario and plan and that every run is present exactly once.
pub fn merge_folders(parts: Vec<SweepFolder>) -> Result<SweepFolder, String> {
    let first = parts.first().ok_or("nothing to merge")?;
    let mut reference = first.manifest.clone();
    reference.shard = None;
    let mut tables = SweepTables { header: first.tables.header.clone(), ..SweepTables::default() };
    let scenario_text = first.scenario_text.clone();
    for (i, p) in parts.iter().enumerate() {
        let mut m = p.manifest.clone();
        m.shard = None;
        // The same file may sit at different paths on different machines: the content hash,
        // not the path, identifies the scenario.
        m.scenario_file.clone_from(&reference.scenario_file);
        if m != reference {
            return Err(format!(
                "folder {} is from a different sweep than folder 1 (scenario, version, overrides, grid or seeds differ)",
                i + 1
            ));
        }
        if p.tables.header != tables.header {
            return Err(format!("folder {}: runs.csv has different columns", i + 1));
        }
    }
    for p in parts {
        tables.runs.extend(p.tables.runs);
        tables.startups.extend(p.tables.startups);
    }
    tables.runs.sort_by_key(|r| r.run);
    // Stable: pods keep their order within a run.
    tables.startups.sort_by_key(|rows| rows.run);
    let total = reference.plan.runs();
    for (k, w) in tables.runs.windows(2).enumerate() {
        if w[0].run == w[1].run {
            let (v, s) = reference.plan.run_at(w[0].run);
            return Err(format!(
                "run of variant {:?} seed {} appears twice (row {})",
                reference.plan.variants[v].name,
                reference.plan.seeds[s],
                k + 2
            ));
        }
    }
    if tables.runs.len() != total {
        let have: Vec<usize> = tables.runs.iter().map(|r| r.run).collect();
        let missing = (0..total).find(|k| have.binary_search(k).is_err()).unwrap_or(0);
        let (v, s) = reference.plan.run_at(missing);
        return Err(format!(
            "{} of {} runs present; missing e.g. variant {:?} seed {} (is a shard folder missing?)",
            tables.runs.len(),
            total,
            reference.plan.variants[v].name,
            reference.plan.seeds[s]
        ));
    }
    Ok(SweepFolder { manifest: reference, tables, scenario_text })
}
