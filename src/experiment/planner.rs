//! The search of `pullsim plan`: the cheapest variant of a grid that meets every SLO, with as
//! few runs as the answer allows. Pure: it asks an [`Oracle`] for one run's verdicts (one per
//! SLO) and decides what to run next; the command runs the model.
//!
//! - **Sequential verdicts.** A variant's seeds are run one at a time (seed k is the same for
//!   every variant: common random numbers), and its sampling stops as soon as its verdict is
//!   settled: an SLO needing `need` passing seeds out of `seeds` has failed once more than
//!   `seeds − need` seeds failed it, and has passed once `need` passed.
//! - **One axis** (values cheapest first): bisection for the first passing value, assuming
//!   that a costlier value never does worse; then the neighbours of the answer are checked (the
//!   value below must fail, the value above must pass), and a violation is reported, not hidden
//!   (a dip elsewhere on the axis goes unseen: bisection does not run every value).
//! - **Several axes**: points in order of their total rank (the sum of their values' positions,
//!   cheapest first; ties in grid order), skipping every point the assumption already decides:
//!   one that is at least as costly on every axis as a passing point (it passes, and costs
//!   more), or at most as costly as a failing one (it fails). The first passing point is the
//!   answer; the others of the same total rank that pass are reported beside it.

use std::collections::BTreeMap;

/// One run's verdict per SLO (true = met).
pub trait Oracle {
    fn run(&mut self, point: &[usize], seed_index: u32) -> Vec<bool>;
}

/// What an SLO asks of a variant: `need` of `seeds` seeds passing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub need: u32,
}

/// A variant's verdict and its evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluated {
    /// The value index on each axis.
    pub point: Vec<usize>,
    pub pass: bool,
    /// Per SLO: (seeds passing, seeds run).
    pub per_slo: Vec<(u32, u32)>,
    /// Seeds run for this variant.
    pub runs: u32,
}

/// The search's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The cheapest passing point, if any.
    pub best: Option<Vec<usize>>,
    /// Other passing points as cheap as `best` (several axes only).
    pub also: Vec<Vec<usize>>,
    /// Every variant run, in the order they were decided.
    pub evaluated: Vec<Evaluated>,
    /// Runs made in all.
    pub runs: u32,
    /// Where the results contradict the assumption that a costlier value never does worse.
    pub warnings: Vec<String>,
}

struct Search<'a, O: Oracle> {
    oracle: &'a mut O,
    reqs: &'a [Requirement],
    seeds: u32,
    cache: BTreeMap<Vec<usize>, bool>,
    evaluated: Vec<Evaluated>,
    runs: u32,
}

impl<O: Oracle> Search<'_, O> {
    /// Runs `point`'s seeds until its verdict is settled (or recalls it).
    fn eval(&mut self, point: &[usize]) -> bool {
        if let Some(&v) = self.cache.get(point) {
            return v;
        }
        let mut per_slo = vec![(0u32, 0u32); self.reqs.len()];
        let mut runs = 0;
        let pass = loop {
            let fails_allowed = |r: &Requirement| self.seeds - r.need;
            let failed = per_slo.iter().zip(self.reqs).any(|((p, n), r)| n - p > fails_allowed(r));
            if failed {
                break false;
            }
            if per_slo.iter().zip(self.reqs).all(|((p, _), r)| *p >= r.need) {
                break true;
            }
            // Not settled: a seed is left (settling is guaranteed by the last seed).
            let verdicts = self.oracle.run(point, runs);
            runs += 1;
            for (s, ok) in per_slo.iter_mut().zip(verdicts) {
                s.0 += u32::from(ok);
                s.1 += 1;
            }
        };
        self.runs += runs;
        self.cache.insert(point.to_vec(), pass);
        self.evaluated.push(Evaluated { point: point.to_vec(), pass, per_slo, runs });
        pass
    }
}

/// Finds the cheapest passing point of a grid of `sizes` (values per axis, cheapest first),
/// with `seeds` seeds per variant at most and one requirement per SLO.
pub fn plan<O: Oracle>(oracle: &mut O, sizes: &[usize], seeds: u32, reqs: &[Requirement]) -> Outcome {
    assert!(reqs.iter().all(|r| r.need >= 1 && r.need <= seeds), "need within 1..=seeds");
    let mut s = Search { oracle, reqs, seeds, cache: BTreeMap::new(), evaluated: Vec::new(), runs: 0 };
    let mut warnings = Vec::new();
    let (best, also) = if sizes.len() == 1 {
        (bisect(&mut s, sizes[0], &mut warnings).map(|i| vec![i]), Vec::new())
    } else {
        frontier(&mut s, sizes)
    };
    Outcome { best, also, evaluated: s.evaluated, runs: s.runs, warnings }
}

/// The first passing value of one axis, then its neighbours checked.
fn bisect<O: Oracle>(s: &mut Search<'_, O>, n: usize, warnings: &mut Vec<String>) -> Option<usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if s.eval(&[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo == n {
        return None;
    }
    if lo > 0 && s.eval(&[lo - 1]) {
        warnings.push(format!("value {} passes although a costlier one was needed by bisection", lo - 1));
    }
    if lo + 1 < n && !s.eval(&[lo + 1]) {
        warnings.push(format!(
            "value {} fails although the cheaper value {lo} passes: the metric is not monotone on this axis",
            lo + 1
        ));
    }
    Some(lo)
}

/// Every point of the grid in (total rank, grid order).
fn points_by_rank(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut all: Vec<Vec<usize>> = vec![Vec::new()];
    for &n in sizes {
        all = all.into_iter().flat_map(|p| (0..n).map(move |i| [p.clone(), vec![i]].concat())).collect();
    }
    all.sort_by_key(|p| p.iter().sum::<usize>());
    all
}

fn dominates(a: &[usize], b: &[usize]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y)
}

/// The cheapest passing points by total rank, skipping points already decided.
fn frontier<O: Oracle>(s: &mut Search<'_, O>, sizes: &[usize]) -> (Option<Vec<usize>>, Vec<Vec<usize>>) {
    let mut passes: Vec<Vec<usize>> = Vec::new();
    let mut fails: Vec<Vec<usize>> = Vec::new();
    let mut best: Option<(usize, Vec<usize>)> = None;
    let mut also = Vec::new();
    for p in points_by_rank(sizes) {
        let rank: usize = p.iter().sum();
        if best.as_ref().is_some_and(|(r, _)| rank > *r) {
            break;
        }
        if passes.iter().any(|q| dominates(&p, q)) || fails.iter().any(|q| dominates(q, &p)) {
            continue;
        }
        if s.eval(&p) {
            match &best {
                None => best = Some((rank, p.clone())),
                Some(_) => also.push(p.clone()),
            }
            passes.push(p);
        } else {
            fails.push(p);
        }
    }
    (best.map(|(_, p)| p), also)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A monotone oracle: point passes SLO k in seed i when `score(point) + noise(i) >= bar_k`.
    struct Threshold<F: Fn(&[usize], u32) -> Vec<bool>> {
        f: F,
        calls: u32,
    }

    impl<F: Fn(&[usize], u32) -> Vec<bool>> Oracle for Threshold<F> {
        fn run(&mut self, point: &[usize], seed: u32) -> Vec<bool> {
            self.calls += 1;
            (self.f)(point, seed)
        }
    }

    /// The brute-force answer: every point, every seed.
    fn brute(
        f: &dyn Fn(&[usize], u32) -> Vec<bool>,
        sizes: &[usize],
        seeds: u32,
        reqs: &[Requirement],
    ) -> Vec<Vec<usize>> {
        let mut passing = Vec::new();
        for p in points_by_rank(sizes) {
            let mut counts = vec![0u32; reqs.len()];
            for i in 0..seeds {
                for (c, ok) in counts.iter_mut().zip(f(&p, i)) {
                    *c += u32::from(ok);
                }
            }
            if counts.iter().zip(reqs).all(|(c, r)| *c >= r.need) {
                passing.push(p);
            }
        }
        passing
    }

    #[test]
    fn bisection_finds_the_first_passing_value_with_few_runs() {
        // Ten values; value v passes seed i when v >= 6, or v == 5 on even seeds (5 passes
        // 10 of 20 seeds: not enough for "all seeds").
        let f = |p: &[usize], i: u32| vec![p[0] >= 6 || (p[0] == 5 && i % 2 == 0)];
        let mut o = Threshold { f, calls: 0 };
        let reqs = [Requirement { need: 20 }];
        let out = plan(&mut o, &[10], 20, &reqs);
        assert_eq!(out.best, Some(vec![6]));
        assert_eq!(brute(&f, &[10], 20, &reqs)[0], vec![6]);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // Full grid: 200 runs. Bisection runs 5 (fails at its 2nd seed), then 8, 7 and 6 (20
        // each): 62 runs; the neighbours, 5 and 7, are known by then.
        assert!(out.runs * 10 <= 200 * 4, "at most 40 % of the grid's runs, made {}", out.runs);
        assert_eq!(o.calls, out.runs);
        // Value 5 failed at its second seed: sampling stopped there.
        let five = out.evaluated.iter().find(|e| e.point == [5]).expect("5 was run");
        assert_eq!((five.pass, five.runs, five.per_slo[0]), (false, 2, (1, 2)));
    }

    #[test]
    fn a_share_of_seeds_settles_as_soon_as_it_can() {
        // Needs 15 of 20: value 5 passes even seeds only, so fails once 6 seeds failed (at the
        // 12th seed); value 6 passes every seed and settles after 15.
        let f = |p: &[usize], i: u32| vec![p[0] >= 6 || (p[0] == 5 && i % 2 == 0)];
        let mut o = Threshold { f, calls: 0 };
        let out = plan(&mut o, &[10], 20, &[Requirement { need: 15 }]);
        assert_eq!(out.best, Some(vec![6]));
        let runs = |v: usize| out.evaluated.iter().find(|e| e.point == [v]).map(|e| e.runs);
        assert_eq!((runs(5), runs(6)), (Some(12), Some(15)));
    }

    #[test]
    fn no_passing_value_is_infeasible_and_a_dip_is_reported() {
        let mut o = Threshold { f: |_: &[usize], _| vec![false], calls: 0 };
        let out = plan(&mut o, &[4], 5, &[Requirement { need: 5 }]);
        assert_eq!(out.best, None);
        // Not monotone: 2 passes, 3 fails, 4 and 5 pass. Bisection lands on 2 (4, 2, 1 run)
        // and its neighbour check finds 3 failing.
        let f = |p: &[usize], _| vec![matches!(p[0], 2 | 4 | 5 | 7)];
        let mut o = Threshold { f, calls: 0 };
        let out = plan(&mut o, &[8], 3, &[Requirement { need: 3 }]);
        assert_eq!(out.best, Some(vec![2]));
        assert!(out.warnings.iter().any(|w| w.contains("not monotone")), "{:?}", out.warnings);
    }

    #[test]
    fn several_axes_give_the_brute_force_answer_with_fewer_runs() {
        // Two SLOs over a 4 x 5 grid: a + b >= 4 for the first, b >= 1 for the second.
        let f = |p: &[usize], _: u32| vec![p[0] + p[1] >= 4, p[1] >= 1];
        let sizes = [4, 5];
        let reqs = [Requirement { need: 3 }, Requirement { need: 3 }];
        let mut o = Threshold { f, calls: 0 };
        let out = plan(&mut o, &sizes, 3, &reqs);
        let passing = brute(&f, &sizes, 3, &reqs);
        assert_eq!(out.best.as_ref(), passing.first(), "the cheapest by total rank, first in grid order");
        for p in &out.also {
            assert!(passing.contains(p) && p.iter().sum::<usize>() == 4);
        }
        assert!(out.runs < 20 * 3, "skipped decided points: {} runs", out.runs);
    }
}
