//! Which workload a sweep's key columns are about: the startup, makespan and failure columns of
//! `variants.csv`, of the terminal table and of the charts (and the pods of `startups.csv`) are
//! one workload's, because pooled percentiles mix workloads.
//!
//! The choice, first that applies: `--workload NAME`; `[sweep] workload`; the only workload; the
//! first workload in file order that is not a DaemonSet (a DaemonSet is usually a node agent
//! beside the application the question is about); the first workload when all are DaemonSets.
//! The DaemonSets of `[[prepull]]` tables (`prepull:<name>`) count for none of the defaults;
//! only `--workload` can name one.
//! The reason travels with the name, so every table can say why it shows that workload.

use crate::scenario::{Scenario, WorkloadKind};
use serde::{Deserialize, Serialize};

/// Why the key workload is the one it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChosenBy {
    /// `--workload NAME`.
    Flag,
    /// `[sweep] workload`.
    SweepTable,
    /// The scenario has one workload.
    Only,
    /// The default: the first workload in file order that is not a DaemonSet.
    FirstNonDaemonset,
    /// The default when every workload is a DaemonSet: the first.
    FirstDaemonset,
}

/// The workload of the key columns, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWorkload {
    pub name: String,
    pub chosen_by: ChosenBy,
}

impl KeyWorkload {
    /// For table headers: `workload web (default: first non-DaemonSet workload; --workload NAME
    /// to choose)`.
    pub fn describe(&self) -> String {
        let why = match self.chosen_by {
            ChosenBy::Flag => "chosen with --workload",
            ChosenBy::SweepTable => "chosen by [sweep] workload",
            ChosenBy::Only => "the only workload",
            ChosenBy::FirstNonDaemonset => "default: first non-DaemonSet workload; --workload NAME to choose",
            ChosenBy::FirstDaemonset => {
                "default: first workload, all are DaemonSets; --workload NAME to choose"
            }
        };
        format!("workload {} ({why})", self.name)
    }
}

/// The key workload of `scn`: `flag` (`--workload`) if given, else `[sweep] workload`, else the
/// default. `None` when the scenario has no workload. An unknown `flag` is an error with the
/// names there are (`[sweep] workload` was checked when the file was loaded).
pub fn choose(scn: &Scenario, flag: Option<&str>) -> Result<Option<KeyWorkload>, String> {
    let names: Vec<&str> = scn.workloads.iter().map(|w| w.name.as_str()).collect();
    if let Some(name) = flag {
        if !names.contains(&name) {
            return Err(format!(
                "--workload {name:?}: {}",
                crate::scenario::validate::unknown_workload(name, &names)
            ));
        }
        return Ok(Some(KeyWorkload { name: name.to_string(), chosen_by: ChosenBy::Flag }));
    }
    if let Some(name) = scn.sweep.as_ref().and_then(|s| s.workload.as_ref()) {
        return Ok(Some(KeyWorkload { name: name.clone(), chosen_by: ChosenBy::SweepTable }));
    }
    let is_daemonset = |i: usize| matches!(scn.workloads[i].kind, WorkloadKind::DaemonSet { .. });
    let pick = |i: usize, chosen_by| KeyWorkload { name: names[i].to_string(), chosen_by };
    // A `[[prepull]]`'s DaemonSet is never the default: it warms nodes for the application,
    // whose results are the question (it comes after the file's workloads, so they are a prefix).
    let user = scn.workloads.iter().take_while(|w| w.prepull.is_none()).count();
    Ok(match user {
        0 => None,
        1 => Some(pick(0, ChosenBy::Only)),
        n => Some(match (0..n).find(|&i| !is_daemonset(i)) {
            Some(i) => pick(i, ChosenBy::FirstNonDaemonset),
            None => pick(0, ChosenBy::FirstDaemonset),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario whose workloads are `(name, kind)`, with `[sweep] workload` when given.
    fn scenario(workloads: &[(&str, &str)], sweep_workload: Option<&str>) -> Scenario {
        let mut text = String::from(
            "[simulation]\nname = \"k\"\n[[node_pool]]\nname = \"p\"\ncount = 1\n\
             [[registry]]\nhost = \"r.example\"\n[[image]]\nref = \"r.example/a:1\"\nsize = \"1MB\"\n",
        );
        for (name, kind) in workloads {
            let replicas = if *kind == "deployment" { "replicas = 1\n" } else { "" };
            text.push_str(&format!(
                "[[workload]]\nname = \"{name}\"\nkind = \"{kind}\"\n{replicas}\
                 [workload.pod]\ncontainers = [ {{ image = \"r.example/a:1\" }} ]\n"
            ));
        }
        if let Some(w) = sweep_workload {
            text.push_str(&format!("[sweep]\nworkload = \"{w}\"\n"));
        }
        crate::scenario::load(&text, "k.toml", &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn chosen(scn: &Scenario, flag: Option<&str>) -> (String, ChosenBy) {
        let k = choose(scn, flag).unwrap().unwrap();
        (k.name, k.chosen_by)
    }

    #[test]
    fn default_is_the_first_workload_that_is_not_a_daemonset() {
        let scn = scenario(&[("agent", "daemonset"), ("web", "deployment"), ("api", "deployment")], None);
        assert_eq!(chosen(&scn, None), ("web".into(), ChosenBy::FirstNonDaemonset));
        let k = choose(&scn, None).unwrap().unwrap();
        assert_eq!(
            k.describe(),
            "workload web (default: first non-DaemonSet workload; --workload NAME to choose)"
        );
        let scn = scenario(&[("a", "daemonset"), ("b", "daemonset")], None);
        assert_eq!(chosen(&scn, None), ("a".into(), ChosenBy::FirstDaemonset));
        let scn = scenario(&[("agent", "daemonset")], None);
        assert_eq!(chosen(&scn, None), ("agent".into(), ChosenBy::Only));
        let scn = scenario(&[], None);
        assert_eq!(choose(&scn, None), Ok(None));
    }

    #[test]
    fn the_flag_wins_over_the_file_and_an_unknown_flag_is_refused() {
        let scn = scenario(&[("agent", "daemonset"), ("web", "deployment")], Some("agent"));
        assert_eq!(chosen(&scn, None), ("agent".into(), ChosenBy::SweepTable));
        assert_eq!(chosen(&scn, Some("web")), ("web".into(), ChosenBy::Flag));
        let e = choose(&scn, Some("wbe")).unwrap_err();
        assert_eq!(
            e,
            "--workload \"wbe\": no [[workload]] named \"wbe\": did you mean \"web\"? (expected one of agent, web)"
        );
    }

    #[test]
    fn an_unknown_sweep_workload_is_a_scenario_error() {
        let text = "[simulation]\nname = \"k\"\n[[node_pool]]\nname = \"p\"\ncount = 1\n\
                    [[registry]]\nhost = \"r.example\"\n[[image]]\nref = \"r.example/a:1\"\nsize = \"1MB\"\n\
                    [[workload]]\nname = \"web\"\nkind = \"deployment\"\nreplicas = 1\n\
                    [workload.pod]\ncontainers = [ { image = \"r.example/a:1\" } ]\n\
                    [sweep]\nworkload = \"webb\"\n";
        let e = crate::scenario::load(text, "k.toml", &[]).unwrap_err().to_string();
        assert!(
            e.contains("key `sweep.workload`: no [[workload]] named \"webb\": did you mean \"web\"?"),
            "{e}"
        );
    }
}
