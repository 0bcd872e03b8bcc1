//! The bad-input corpus: every file in `tests/corpus/bad/` is a broken scenario that
//! `pullsim validate` (and `pullsim run`) must refuse with exit code 2 and a message naming the
//! file, the line (and column) and the key where there is one, and what was expected; never a
//! panic, never a long run or a large allocation. Inputs that cannot be committed (empty,
//! binary, 100 MB) are generated at test time in a temporary folder.
//!
//! Each corpus file starts with three comment lines the test reads:
//! `# expect: <substring of stderr>`, `# line: <N or none>`, `# key: <dotted key or none>`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pullsim(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pullsim")).args(args).output().unwrap()
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/bad")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pullsim-corpus-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Expect {
    substring: String,
    line: Option<usize>,
    key: Option<String>,
}

fn header(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).unwrap();
    let field = |name: &str| -> String {
        text.lines()
            .take(3)
            .find_map(|l| l.strip_prefix(&format!("# {name}: ")))
            .unwrap_or_else(|| panic!("{}: missing `# {name}:` header line", path.display()))
            .trim()
            .to_string()
    };
    let none_or = |s: String| if s == "none" { None } else { Some(s) };
    Expect {
        substring: field("expect"),
        line: none_or(field("line")).map(|l| l.parse().expect("# line: is a number or none")),
        key: none_or(field("key")),
    }
}

/// Runs `validate` on a bad file and checks the common promises: exit 2, no panic, no output on
/// stdout. Returns stderr. (How quickly is a benchmark's question, not a test's: wall-clock
/// bounds fail on a busy machine.)
fn refuse(file: &Path) -> String {
    let o = pullsim(&["validate".as_ref(), file.as_os_str()]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{}: exit code; stderr:\n{stderr}", file.display());
    assert!(!stderr.contains("panicked"), "{}: panicked:\n{stderr}", file.display());
    assert!(stderr.starts_with("error: "), "{}: stderr:\n{stderr}", file.display());
    assert!(o.stdout.is_empty(), "{}: printed to stdout", file.display());
    stderr
}

#[test]
fn every_corpus_file_is_refused_with_a_located_message() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus should hold at least 40 files, found {}", files.len());
    for f in &files {
        let exp = header(f);
        let stderr = refuse(f);
        let shown = f.display().to_string();
        assert!(stderr.contains(&shown), "{shown}: message does not name the file:\n{stderr}");
        assert!(
            stderr.contains(&exp.substring),
            "{shown}: expected {:?} in the message:\n{stderr}",
            exp.substring
        );
        match exp.line {
            // `file:line:column: ` with a column, on some diagnostic line.
            Some(line) => {
                let prefix = format!("{shown}:{line}:");
                let located = stderr.lines().any(|l| {
                    let l = l.strip_prefix("error: ").unwrap_or(l);
                    l.strip_prefix(&prefix).is_some_and(|rest| {
                        rest.split(':').next().is_some_and(|c| c.parse::<usize>().is_ok_and(|c| c >= 1))
                    })
                });
                assert!(located, "{shown}: expected a diagnostic at line {line} with a column:\n{stderr}");
            }
            // A whole-file problem (no table to point at): `file: message`.
            None => assert!(
                stderr.lines().next().is_some_and(|l| l.starts_with(&format!("error: {shown}: "))),
                "{shown}: expected a message without a line:\n{stderr}"
            ),
        }
        if let Some(key) = &exp.key {
            assert!(stderr.contains(&format!("key `{key}`")), "{shown}: expected key `{key}`:\n{stderr}");
        }
    }
}

#[test]
fn run_refuses_corpus_files_too_and_writes_nothing() {
    let dir = scratch("run");
    for name in ["absurd-nodes-4e9", "absurd-sample-every", "syntax-unclosed-string", "unknown-key-pool"] {
        let f = corpus_dir().join(format!("{name}.toml"));
        let out = dir.join(name);
        let o = pullsim(&["run".as_ref(), f.as_os_str(), "--out".as_ref(), out.as_os_str()]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(!out.exists(), "{name}: a refused scenario must not create its results folder");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small deterministic generator (no dependency on the library's RNG streams).
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn generated_inputs_empty_binary_huge_are_refused() {
    let dir = scratch("generated");
    let mut cases: Vec<(PathBuf, &str)> = Vec::new();

    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    cases.push((empty, "missing [simulation]"));

    // Random bytes: not UTF-8 (0xff never appears in UTF-8).
    let mut st = 0x9e37_79b9_7f4a_7c15u64;
    let mut bin: Vec<u8> = (0..64 * 1024).map(|_| xorshift(&mut st) as u8).collect();
    bin[10] = 0xff;
    let binary = dir.join("garbage.bin");
    std::fs::write(&binary, &bin).unwrap();
    cases.push((binary, "not a text file"));

    // Valid UTF-8 but not TOML: random ASCII including control characters.
    let ascii: Vec<u8> = (0..64 * 1024).map(|_| (xorshift(&mut st) % 128) as u8).collect();
    let ascii_file = dir.join("ascii-garbage.toml");
    std::fs::write(&ascii_file, &ascii).unwrap();
    cases.push((ascii_file, "TOML syntax error"));

    // NUL bytes are valid UTF-8.
    let nul = dir.join("nul.toml");
    std::fs::write(&nul, vec![0u8; 4096]).unwrap();
    cases.push((nul, "TOML syntax error"));

    // 100 MB: refused by size before reading (sparse, so the test costs no disk or time).
    let huge = dir.join("huge.toml");
    std::fs::File::create(&huge).unwrap().set_len(100 * 1024 * 1024).unwrap();
    cases.push((huge, "scenario files are limited to"));

    // Just under the size cap: a large but well-formed file full of unknown keys must be
    // refused in bounded time (the unknown-key retries are budgeted by file size).
    let mut big = String::from("[simulation]\nname = \"big\"\n");
    let mut i = 0;
    while big.len() < 1024 * 1024 {
        big.push_str(&format!("[[registry]]\nhots = \"r{i}.example\"\n"));
        i += 1;
    }
    let big_file = dir.join("big.toml");
    std::fs::write(&big_file, big).unwrap();
    cases.push((big_file, "unknown field `hots`"));

    // Kubernetes documents given for a scenario: `kubectl get nodes -o json` (a List of Nodes),
    // a NodeList, and a manifest with a file name of its own.
    let nodes = dir.join("nodes.json");
    std::fs::write(
        &nodes,
        r#"{
    "apiVersion": "v1",
    "items": [
        { "apiVersion": "v1", "kind": "Node", "metadata": { "name": "worker-1" }, "status": { "nodeInfo": { "architecture": "amd64" } } },
        { "apiVersion": "v1", "kind": "Node", "metadata": { "name": "worker-2" }, "status": { "nodeInfo": { "architecture": "amd64" } } }
    ],
    "kind": "List",
    "metadata": { "resourceVersion": "" }
}
"#,
    )
    .unwrap();
    cases.push((nodes, "this is a Kubernetes List of 2 Node objects (JSON), not a pullsim scenario (TOML). Describe its nodes in a scenario as node pools"));
    let node_list = dir.join("nodelist.json");
    std::fs::write(&node_list, r#"{"kind": "NodeList", "apiVersion": "v1", "items": []}"#).unwrap();
    cases.push((node_list, "this is a Kubernetes NodeList (JSON)"));
    let manifest = dir.join("daemonset.yaml");
    std::fs::write(&manifest, "---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\n")
        .unwrap();
    cases.push((manifest, "(a DaemonSet is kind = \"daemonset\")"));

    let folder = dir.join("a-folder.toml");
    std::fs::create_dir_all(&folder).unwrap();
    cases.push((folder, "is a folder"));

    cases.push((dir.join("does-not-exist.toml"), "cannot read"));

    for (f, expect) in &cases {
        let stderr = refuse(f);
        assert!(stderr.contains(&f.display().to_string()), "{}: file not named:\n{stderr}", f.display());
        assert!(stderr.contains(expect), "{}: expected {expect:?}:\n{stderr}", f.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn limits_can_be_raised_from_the_file_or_the_command_line() {
    // 2,000,000 replicas is over a limit lowered to 1,000 ...
    let base = std::fs::read_to_string(corpus_dir().join("absurd-replicas.toml")).unwrap();
    let text = base.replace("replicas = 4000000000", "replicas = 2000");
    let dir = scratch("limits");
    let f = dir.join("s.toml");
    std::fs::write(&f, format!("{text}\n[limits]\npods = 1000\n")).unwrap();
    let stderr = refuse(&f);
    assert!(stderr.contains("above the limit of 1000"), "{stderr}");
    assert!(stderr.contains("--set limits.pods=2000"), "the message says how to raise it:\n{stderr}");
    // ... and accepted once raised with --set.
    let o = pullsim(&["validate".as_ref(), f.as_os_str(), "--set".as_ref(), "limits.pods=5000".as_ref()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The absurd scenarios are refused with little memory: under a 200 MB address-space limit
/// (set by the shell's `ulimit -v`, so no libc binding is needed), `validate` and `run` still
/// exit 2 with the limit message instead of aborting on a failed allocation.
#[test]
fn absurd_scenarios_are_refused_within_200_mb() {
    let out = std::env::temp_dir().join(format!("pullsim-absurd-{}", std::process::id()));
    let mut n = 0;
    for e in std::fs::read_dir(corpus_dir()).unwrap() {
        let f = e.unwrap().path();
        if !f.file_name().unwrap().to_string_lossy().starts_with("absurd-") {
            continue;
        }
        let runs: [Vec<&std::ffi::OsStr>; 2] = [
            vec!["validate".as_ref(), f.as_os_str()],
            vec!["run".as_ref(), f.as_os_str(), "--out".as_ref(), out.as_os_str()],
        ];
        for args in runs {
            let o = Command::new("sh")
                .arg("-c")
                .arg("ulimit -v 200000 && exec \"$@\"")
                .arg("sh")
                .arg(env!("CARGO_BIN_EXE_pullsim"))
                .args(&args)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{} {:?}: {stderr}", f.display(), args[0]);
            assert!(stderr.contains("above the limit") || stderr.contains("expected a size"), "{stderr}");
            assert!(!stderr.contains("panicked") && !stderr.contains("memory allocation"), "{stderr}");
        }
        n += 1;
    }
    assert!(n >= 8, "expected the absurd-* corpus files, found {n}");
    assert!(!out.exists(), "a refused run created its results folder");
}
