//! Results folders written atomically, and never over a user's files.
//!
//! Atomicity: a command writes into a staging folder beside the destination
//! (`.<name>.tmp-<pid>`), then swaps it in by rename. A command that fails or is killed before
//! the swap leaves the previous results untouched and only a staging folder whose name says it
//! is incomplete (removed by the next command writing to the same destination).
//!
//! Ownership: every folder pullsim writes holds a marker file, [`MARKER`], that lists the files
//! pullsim put there. A destination is replaced only when it does not exist, is empty, or holds
//! nothing but what its marker lists; anything else (a user's notes, the scenario file itself
//! when `--out` names its folder, a folder from another tool) is refused with
//! [`Refusal`] unless the user passes `--force`. The check runs when a command starts, so a long
//! sweep is not run only to be refused, and again just before the swap.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The marker file in every results folder pullsim writes.
pub const MARKER: &str = ".pullsim-results";

const MARKER_HEADER: &str =
    "# Written by pullsim. It replaces this folder only while it holds nothing but the files listed here.";

/// Why a destination may not be replaced (bad input: exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a staging folder could not be created.
#[derive(Debug)]
pub enum StagingError {
    /// The destination holds files pullsim did not write.
    Refused(Refusal),
    Io(io::Error),
}

impl From<io::Error> for StagingError {
    fn from(e: io::Error) -> Self {
        StagingError::Io(e)
    }
}

/// Checks that `dest` may be replaced by a results folder: it does not exist, is an empty
/// folder, or holds only files listed in its marker. `force` accepts any folder (the user's
/// explicit choice), but never a file.
pub fn check_destination(dest: &Path, force: bool) -> Result<(), Refusal> {
    let shown = dest.display();
    let meta = match fs::symlink_metadata(dest) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Refusal(format!("{shown}: cannot inspect the output folder: {e}"))),
    };
    if !meta.is_dir() {
        return Err(Refusal(format!("{shown} is a file, not a folder; choose another --out")));
    }
    if force {
        return Ok(());
    }
    let mut entries: Vec<String> = fs::read_dir(dest)
        .map_err(|e| Refusal(format!("{shown}: cannot read the output folder: {e}")))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    if entries.is_empty() {
        return Ok(());
    }
    let listed = match fs::read_to_string(dest.join(MARKER)) {
        Ok(text) => listed_files(&text),
        Err(_) => {
            return Err(Refusal(format!(
                "{shown} is not a pullsim results folder (it holds {}); pullsim replaces only folders \
                 it wrote. Choose another --out, or pass --force to replace the folder and everything in it",
                sample(&entries)
            )))
        }
    };
    let foreign: Vec<String> =
        entries.into_iter().filter(|e| e != MARKER && listed.binary_search(e).is_err()).collect();
    if foreign.is_empty() {
        return Ok(());
    }
    Err(Refusal(format!(
        "{shown} holds files pullsim did not write ({}); move them elsewhere, choose another --out, \
         or pass --force to replace the folder and everything in it",
        sample(&foreign)
    )))
}

/// The file names a marker lists, sorted.
fn listed_files(marker: &str) -> Vec<String> {
    let mut v: Vec<String> =
        marker.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    v.sort();
    v
}

/// Up to four names, quoted, then how many more.
fn sample(names: &[String]) -> String {
    let mut s = names.iter().take(4).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > 4 {
        s.push_str(&format!(" and {} more", names.len() - 4));
    }
    s
}

/// A folder being written; becomes the destination on `commit`.
pub struct Staging {
    tmp: PathBuf,
    dest: PathBuf,
    force: bool,
}

impl Staging {
    /// Creates an empty staging folder next to `dest` (removing a stale one left by a killed
    /// run), after checking that `dest` may be replaced (see [`check_destination`]).
    pub fn create(dest: &Path, force: bool) -> Result<Staging, StagingError> {
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = dest.file_name().ok_or_else(|| {
            StagingError::Refused(Refusal(format!(
                "{}: the output path must end in a folder name (not `.` or `..`)",
                dest.display()
            )))
        })?;
        fs::create_dir_all(parent)?;
        remove_stale_staging(parent, &name.to_string_lossy());
        check_destination(dest, force).map_err(StagingError::Refused)?;
        let tmp = parent.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir(&tmp)?;
        Ok(Staging { tmp, dest: dest.to_path_buf(), force })
    }

    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Writes the marker listing the staged files, then replaces the destination with the
    /// staged folder (checking the destination once more: a user may have added a file while
    /// the command ran).
    pub fn commit(self) -> Result<PathBuf, StagingError> {
        write_marker(&self.tmp)?;
        check_destination(&self.dest, self.force).map_err(StagingError::Refused)?;
        let parent = self.tmp.parent().expect("staging has a parent").to_path_buf();
        let name = self.dest.file_name().expect("checked in create").to_string_lossy().to_string();
        if self.dest.exists() {
            let old = parent.join(format!(".{name}.old-{}", std::process::id()));
            if old.exists() {
                fs::remove_dir_all(&old)?;
            }
            fs::rename(&self.dest, &old)?;
            fs::rename(&self.tmp, &self.dest)?;
            fs::remove_dir_all(&old)?;
        } else {
            fs::rename(&self.tmp, &self.dest)?;
        }
        let dest = self.dest.clone();
        std::mem::forget(self);
        Ok(dest)
    }
}

impl Drop for Staging {
    /// An abandoned staging folder (error path) is removed.
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

/// Writes [`MARKER`] into `dir`, listing every entry of `dir` (sorted, one per line).
pub fn write_marker(dir: &Path) -> io::Result<()> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != MARKER)
        .collect();
    names.sort();
    let mut f = fs::File::create(dir.join(MARKER))?;
    writeln!(f, "{MARKER_HEADER}")?;
    for n in names {
        writeln!(f, "{n}")?;
    }
    Ok(())
}

/// Adds `written` (files just written into `dir`, e.g. charts redrawn by `pullsim chart`) to
/// the marker of a results folder, so that they are pullsim's to replace. A folder without a
/// marker is not pullsim's and gets none.
pub fn note_written(dir: &Path, written: &[PathBuf]) -> io::Result<()> {
    let path = dir.join(MARKER);
    let Ok(text) = fs::read_to_string(&path) else { return Ok(()) };
    let listed = listed_files(&text);
    let mut add: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| listed.binary_search(n).is_err())
        .collect();
    if add.is_empty() {
        return Ok(());
    }
    add.sort();
    add.dedup();
    let mut f = fs::OpenOptions::new().append(true).open(&path)?;
    for n in add {
        writeln!(f, "{n}")?;
    }
    Ok(())
}

/// Removes `.NAME.tmp-*` / `.NAME.old-*` folders whose process is gone.
///
/// A run killed inside `commit`, between moving the destination aside and moving the staging
/// folder in, leaves no destination and the previous results in `.NAME.old-PID`: those are
/// complete, so they are put back instead of being deleted.
fn remove_stale_staging(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    let tmp_prefix = format!(".{name}.tmp-");
    let old_prefix = format!(".{name}.old-");
    let dest = parent.join(name);
    let mut stale: Vec<(bool, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().to_string();
        let (is_old, pid) = match (f.strip_prefix(&tmp_prefix), f.strip_prefix(&old_prefix)) {
            (Some(pid), _) => (false, pid),
            (None, Some(pid)) => (true, pid),
            (None, None) => continue,
        };
        let alive = Path::new("/proc").join(pid).exists() && pid != std::process::id().to_string();
        if !alive {
            stale.push((is_old, e.path()));
        }
    }
    // Sorted for a deterministic choice when several old folders exist.
    stale.sort();
    for (is_old, path) in stale {
        if is_old && !dest.exists() && fs::rename(&path, &dest).is_ok() {
            continue;
        }
        let _ = fs::remove_dir_all(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let base = std::env::temp_dir().join(format!("pullsim-staging-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        base
    }

    fn write_results(dest: &Path, file: &str) {
        let s = Staging::create(dest, false).unwrap();
        fs::write(s.path().join(file), file).unwrap();
        s.commit().unwrap();
    }

    #[test]
    fn staging_replaces_its_own_folder_and_cleans_up() {
        let base = scratch("own");
        let dest = base.join("out");
        write_results(&dest, "old.txt");
        assert_eq!(fs::read_to_string(dest.join(MARKER)).unwrap(), format!("{MARKER_HEADER}\nold.txt\n"));
        // A failed write: the staging folder is dropped, the destination is untouched.
        {
            let s = Staging::create(&dest, false).unwrap();
            fs::write(s.path().join("new.txt"), "new").unwrap();
        }
        assert!(dest.join("old.txt").exists());
        assert_eq!(fs::read_dir(&base).unwrap().count(), 1, "no staging folder left behind");
        // A successful write replaces it.
        write_results(&dest, "new.txt");
        assert!(dest.join("new.txt").exists());
        assert!(!dest.join("old.txt").exists());
        assert_eq!(fs::read_dir(&base).unwrap().count(), 1);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_folder_pullsim_did_not_write_is_refused_unless_forced() {
        let base = scratch("foreign");
        let dest = base.join("mine");
        fs::create_dir_all(&dest).unwrap();
        fs::write(dest.join("notes.txt"), "keep me").unwrap();
        match Staging::create(&dest, false) {
            Err(StagingError::Refused(r)) => {
                assert!(r.0.contains("not a pullsim results folder"), "{r}");
                assert!(r.0.contains("`notes.txt`") && r.0.contains("--force"), "{r}");
            }
            other => panic!("expected a refusal, got {:?}", other.map(|s| s.path().to_path_buf())),
        }
        assert_eq!(fs::read_to_string(dest.join("notes.txt")).unwrap(), "keep me");
        assert_eq!(fs::read_dir(&base).unwrap().count(), 1, "nothing staged");
        // --force is the user's explicit choice.
        let s = Staging::create(&dest, true).unwrap();
        fs::write(s.path().join("a.csv"), "x").unwrap();
        s.commit().unwrap();
        assert!(!dest.join("notes.txt").exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_user_file_added_to_a_results_folder_is_kept() {
        let base = scratch("added");
        let dest = base.join("out");
        write_results(&dest, "pods.csv");
        fs::write(dest.join("notes.txt"), "mine").unwrap();
        let err = check_destination(&dest, false).unwrap_err();
        assert!(err.0.contains("files pullsim did not write (`notes.txt`)"), "{err}");
        // Added while the command ran: refused at the swap, previous results untouched.
        fs::remove_file(dest.join("notes.txt")).unwrap();
        let s = Staging::create(&dest, false).unwrap();
        fs::write(dest.join("notes.txt"), "mine").unwrap();
        assert!(matches!(s.commit(), Err(StagingError::Refused(_))));
        assert!(dest.join("pods.csv").exists() && dest.join("notes.txt").exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn empty_folders_and_new_paths_are_fine_and_files_never() {
        let base = scratch("empty");
        fs::create_dir_all(base.join("empty")).unwrap();
        assert_eq!(check_destination(&base.join("empty"), false), Ok(()));
        assert_eq!(check_destination(&base.join("new/deeper"), false), Ok(()));
        fs::write(base.join("file"), "x").unwrap();
        assert!(check_destination(&base.join("file"), true).unwrap_err().0.contains("is a file"));
        assert!(matches!(Staging::create(Path::new("."), true), Err(StagingError::Refused(_))));
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn charts_drawn_later_join_the_marker() {
        let base = scratch("chart");
        let dest = base.join("out");
        write_results(&dest, "pods.csv");
        fs::write(dest.join("extra.svg"), "x").unwrap();
        note_written(&dest, &[dest.join("extra.svg"), dest.join("pods.csv")]).unwrap();
        assert_eq!(check_destination(&dest, false), Ok(()));
        assert_eq!(listed_files(&fs::read_to_string(dest.join(MARKER)).unwrap()), ["extra.svg", "pods.csv"]);
        // A folder pullsim did not write gets no marker.
        let theirs = base.join("theirs");
        fs::create_dir_all(&theirs).unwrap();
        note_written(&theirs, &[theirs.join("a.png")]).unwrap();
        assert!(!theirs.join(MARKER).exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn many_foreign_files_are_summarised() {
        let names: Vec<String> = (0..7).map(|i| format!("f{i}")).collect();
        assert_eq!(sample(&names), "`f0`, `f1`, `f2`, `f3` and 3 more");
    }
}
