//! The search of `pullsim plan`: the cheapest variant of a grid that meets every SLO, with as
//! few runs as the answer allows. Pure: it asks an [`Oracle`] for one run's verdicts (one per
//! SLO) and decides what to run next; the command runs the model.
//!
//! - **Sequential verdicts.** A variant's seeds are run one at a time (seed k is the same for
//!   every variant: common random numbers), and its sampling stops as soon as its verdict is
//!   settled: an SLO needing `need` passing seeds out of `seeds` has failed once more than
//!   `seeds − need` seeds failed it, and has passed once `need` passed.
//! - **The frontier**, assuming a costlier value never does worse (values are given cheapest
//!   first): a point at least as costly on every axis as a passing point passes, and one at
//!   most as costly as a failing point fails; such points are decided without a run. The last
//!   axis is bisected for its first passing value in each combination of the other axes (in
//!   grid order), which walks the frontier between failing and passing points: on one axis this
//!   is plain bisection, on two the boundary found in one row bounds the next. Of those first
//!   passing points the cheapest by total rank (the sum of the values' positions; ties in grid
//!   order) is the answer, and the others of the same total rank are reported beside it.
//! - **The neighbours of the answer** are then run if they were only decided by the assumption:
//!   one step cheaper on any axis must fail, one step costlier must pass. A violation is
//!   reported, not hidden (a dip elsewhere goes unseen: the search does not run every point).
//! - **Invalid points** (a combination the scenario rejects) fail without a run and decide
//!   nothing about other points (their failure says nothing about cost): bisection skips them,
//!   and one that neighbours the answer is recorded as invalid.

use std::collections::BTreeMap;

/// One run's verdict per SLO (true = met).
pub trait Oracle {
    fn run(&mut self, point: &[usize], seed_index: u32) -> Vec<bool>;

    /// The point cannot run (the scenario rejects the combination): it counts as failing.
    fn invalid(&self, _point: &[usize]) -> bool {
        false
    }
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
    /// The scenario rejects this combination: failing, with no run.
    pub invalid: bool,
}

/// A result that contradicts the assumption that a costlier value never does worse (one axis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dip {
    /// `point` passes although bisection settled on the costlier `answer`.
    CheaperPasses { point: Vec<usize>, answer: Vec<usize> },
    /// `point` fails although the cheaper `answer` passes.
    CostlierFails { point: Vec<usize>, answer: Vec<usize> },
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
    pub warnings: Vec<Dip>,
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
        if self.oracle.invalid(point) {
            self.cache.insert(point.to_vec(), false);
            self.evaluated.push(Evaluated {
                point: point.to_vec(),
                pass: false,
                per_slo,
                runs: 0,
                invalid: true,
            });
            return false;
        }
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
        self.evaluated.push(Evaluated { point: point.to_vec(), pass, per_slo, runs, invalid: false });
        pass
    }
}

/// Finds the cheapest passing point of a grid of `sizes` (values per axis, cheapest first),
/// with `seeds` seeds per variant at most and one requirement per SLO.
pub fn plan<O: Oracle>(oracle: &mut O, sizes: &[usize], seeds: u32, reqs: &[Requirement]) -> Outcome {
    assert!(reqs.iter().all(|r| r.need >= 1 && r.need <= seeds), "need within 1..=seeds");
    assert!(!sizes.is_empty() && sizes.iter().all(|&n| n >= 1), "at least one axis, each with a value");
    let mut s = Search { oracle, reqs, seeds, cache: BTreeMap::new(), evaluated: Vec::new(), runs: 0 };
    let mut known = Known::default();
    let firsts = frontier(&mut s, &mut known, sizes);
    let rank = |p: &Vec<usize>| p.iter().sum::<usize>();
    // `firsts` is in grid order: the first of the lowest rank wins ties.
    let best = firsts.iter().min_by_key(|p| rank(p)).cloned();
    let also: Vec<Vec<usize>> = match &best {
        Some(b) => firsts.iter().filter(|p| *p != b && rank(p) == rank(b)).cloned().collect(),
        None => Vec::new(),
    };
    let warnings = best.as_ref().map(|b| check_neighbours(&mut s, sizes, b)).unwrap_or_default();
    Outcome { best, also, evaluated: s.evaluated, runs: s.runs, warnings }
}

/// The points decided by runs, for deciding others without one.
#[derive(Default)]
struct Known {
    passes: Vec<Vec<usize>>,
    fails: Vec<Vec<usize>>,
}

fn dominates(a: &[usize], b: &[usize]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y)
}

/// Whether `p` passes: decided by the assumption when a known point decides it, else run.
fn decide<O: Oracle>(s: &mut Search<'_, O>, known: &mut Known, p: &[usize]) -> bool {
    if known.passes.iter().any(|q| dominates(p, q)) {
        return true;
    }
    if known.fails.iter().any(|f| dominates(f, p)) {
        return false;
    }
    let pass = s.eval(p);
    if pass {
        known.passes.push(p.to_vec());
    } else if !s.oracle.invalid(p) {
        known.fails.push(p.to_vec());
    }
    pass
}

/// Per combination of the other axes (grid order), the first passing value of the last axis,
/// found by bisection; combinations where none passes give nothing.
fn frontier<O: Oracle>(s: &mut Search<'_, O>, known: &mut Known, sizes: &[usize]) -> Vec<Vec<usize>> {
    let (outer, last) = sizes.split_at(sizes.len() - 1);
    let n = last[0];
    let mut firsts = Vec::new();
    for row in grid(outer) {
        let at = |i: usize| [row.as_slice(), &[i]].concat();
        // Bisection over the row's valid points only: an invalid point decides nothing.
        let valid: Vec<usize> = (0..n).filter(|&i| !s.oracle.invalid(&at(i))).collect();
        let (mut lo, mut hi) = (0, valid.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if decide(s, known, &at(valid[mid])) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if let Some(&first) = valid.get(lo) {
            firsts.push(at(first));
        }
    }
    firsts
}

/// Runs the answer's neighbours the assumption decided without a run: one step cheaper on an
/// axis must fail, one step costlier must pass.
fn check_neighbours<O: Oracle>(s: &mut Search<'_, O>, sizes: &[usize], best: &[usize]) -> Vec<Dip> {
    let mut dips = Vec::new();
    for (k, &n) in sizes.iter().enumerate() {
        let step = |d: isize| {
            let i = best[k] as isize + d;
            (i >= 0 && (i as usize) < n).then(|| {
                let mut p = best.to_vec();
                p[k] = i as usize;
                p
            })
        };
        if let Some(p) = step(-1) {
            if s.eval(&p) {
                dips.push(Dip::CheaperPasses { point: p, answer: best.to_vec() });
            }
        }
        if let Some(p) = step(1) {
            if !s.eval(&p) && !s.oracle.invalid(&p) {
                dips.push(Dip::CostlierFails { point: p, answer: best.to_vec() });
            }
        }
    }
    dips
}

/// Every point of a grid of `sizes`, in grid order (the first axis varies slowest); one empty
/// point for no axes.
fn grid(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut all: Vec<Vec<usize>> = vec![Vec::new()];
    for &n in sizes {
        all = all.into_iter().flat_map(|p| (0..n).map(move |i| [p.clone(), vec![i]].concat())).collect();
    }
    all
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
        let mut points = grid(sizes);
        points.sort_by_key(|p| p.iter().sum::<usize>());
        for p in points {
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
        assert_eq!(out.warnings, [Dip::CostlierFails { point: vec![3], answer: vec![2] }]);
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

    /// A monotone oracle from a small generator: point p passes seed i when the weighted sum of
    /// its positions plus the seed's noise reaches the bar.
    fn random_monotone(case: u64, dims: usize) -> impl Fn(&[usize], u32) -> Vec<bool> {
        let mut x = case.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = move || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % 100
        };
        let weights: Vec<u64> = (0..dims).map(|_| next() % 7 + 1).collect();
        let bar = next() % 40 + 10;
        let noise: Vec<u64> = (0..8).map(|_| next() % 4).collect();
        move |p: &[usize], i: u32| {
            let score: u64 = p.iter().zip(&weights).map(|(&v, w)| v as u64 * w).sum();
            vec![score + noise[i as usize % noise.len()] >= bar]
        }
    }

    #[test]
    fn the_frontier_gives_the_brute_force_answer_on_monotone_grids() {
        for case in 0..60u64 {
            let sizes: Vec<usize> = match case % 3 {
                0 => vec![10],
                1 => vec![6, 7],
                _ => vec![4, 3, 5],
            };
            let f = random_monotone(case, sizes.len());
            let reqs = [Requirement { need: if case % 2 == 0 { 8 } else { 6 } }];
            let mut o = Threshold { f: &f, calls: 0 };
            let out = plan(&mut o, &sizes, 8, &reqs);
            let passing = brute(&f, &sizes, 8, &reqs);
            assert_eq!(out.best.as_ref(), passing.first(), "case {case} {sizes:?}");
            if let Some(best) = &out.best {
                let rank = |p: &Vec<usize>| p.iter().sum::<usize>();
                let same: Vec<&Vec<usize>> =
                    passing.iter().filter(|p| rank(p) == rank(best) && *p != best).collect();
                assert_eq!(out.also.iter().collect::<Vec<_>>(), same, "case {case}");
            }
            assert!(out.warnings.is_empty(), "case {case}: {:?}", out.warnings);
            let grid_runs = sizes.iter().product::<usize>() as u32 * 8;
            assert!(out.runs < grid_runs, "case {case}: {} of {grid_runs}", out.runs);
        }
    }

    #[test]
    fn two_axes_of_ten_values_need_a_fraction_of_the_grid() {
        // Passes when a + b >= 12, in every seed: the frontier is a diagonal.
        let f = |p: &[usize], _: u32| vec![p[0] + p[1] >= 12];
        let reqs = [Requirement { need: 5 }];
        let mut o = Threshold { f, calls: 0 };
        let out = plan(&mut o, &[10, 10], 5, &reqs);
        assert_eq!(out.best, Some(vec![3, 9]));
        assert_eq!(out.also.len(), 6, "{:?}", out.also);
        assert!(out.runs * 10 <= 500 * 4, "{} runs of the grid's 500", out.runs);
    }

    #[test]
    fn an_invalid_point_fails_without_a_run_and_decides_nothing() {
        struct WithHole(Vec<Vec<usize>>);
        impl Oracle for WithHole {
            fn run(&mut self, p: &[usize], _: u32) -> Vec<bool> {
                assert_ne!(p, [1, 1], "an invalid point is never run");
                self.0.push(p.to_vec());
                vec![p[0] + p[1] >= 2]
            }
            fn invalid(&self, p: &[usize]) -> bool {
                p == [1, 1]
            }
        }
        let mut o = WithHole(Vec::new());
        let out = plan(&mut o, &[3, 3], 2, &[Requirement { need: 2 }]);
        // Passing with rank 2: (0, 2) and (2, 0); (1, 1) would be but cannot run.
        assert_eq!((out.best, out.also), (Some(vec![0, 2]), vec![vec![2, 0]]));
        // Row 1 bisects its valid points (1, 0) and (1, 2): (1, 0), below the invalid point,
        // was run, not decided by it.
        assert!(o.0.contains(&vec![1, 0]));
        assert!(out.evaluated.iter().all(|e| e.point != [1, 1]));
        // As the answer's neighbour, an invalid point is recorded, failing with no run.
        struct HoleBelow;
        impl Oracle for HoleBelow {
            fn run(&mut self, p: &[usize], _: u32) -> Vec<bool> {
                vec![p[0] >= 2]
            }
            fn invalid(&self, p: &[usize]) -> bool {
                p == [1]
            }
        }
        let out = plan(&mut HoleBelow, &[4], 2, &[Requirement { need: 2 }]);
        assert_eq!(out.best, Some(vec![2]));
        let hole = out.evaluated.iter().find(|e| e.point == [1]).expect("the neighbour (1) is recorded");
        assert!(hole.invalid && !hole.pass && hole.runs == 0);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn a_cheaper_neighbour_decided_without_a_run_is_checked() {
        // Not monotone: (0, 1) passes although (0, 2) fails. Row 0's bisection runs (0, 2),
        // then (0, 3): its first passing value is 3, and (0, 1) is decided failing without a
        // run. Row 1 gives (1, 1), the answer by total rank; its cheaper neighbour (0, 1) is
        // then run and found passing, a cheaper answer the assumption hid.
        let f = |p: &[usize], _: u32| vec![matches!((p[0], p[1]), (0, 1) | (0, 3) | (1..=2, 1..))];
        let mut o = Threshold { f, calls: 0 };
        let out = plan(&mut o, &[3, 4], 1, &[Requirement { need: 1 }]);
        assert_eq!(out.best, Some(vec![1, 1]));
        assert_eq!(out.warnings, [Dip::CheaperPasses { point: vec![0, 1], answer: vec![1, 1] }]);
        // The costlier neighbour (2, 1), decided from (1, 1), was run too, and passes.
        assert!(out.evaluated.iter().any(|e| e.point == [2, 1] && e.pass && e.runs == 1));
    }
}
