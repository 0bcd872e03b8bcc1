//! Quantities: a scalar with a unit (duration, size, bandwidth, rate) or a bare number in the
//! base unit, and the `{ dist = ... }` tables that make a quantity random. Every numeric key of
//! the scenario is read through `Ctx::dist` (or `Ctx::duration` where the value must be fixed).

use super::{type_name, unknown_value, Ctx};
use crate::engine::dist::Dist;
use crate::scenario::locate::KeyPath;
use crate::scenario::suggest;
use crate::time::SimDuration;
use crate::units;
use toml::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Duration,
    Size,
    Bandwidth,
    Rate,
}

impl Kind {
    fn parse(self, s: &str) -> Result<f64, String> {
        match self {
            Kind::Duration => units::parse_duration_ns(s).map(|ns| ns as f64),
            Kind::Size => units::parse_size_bytes(s),
            Kind::Bandwidth => units::parse_bandwidth_bytes_per_s(s),
            Kind::Rate => units::parse_rate_per_s(s),
        }
    }

    /// Base units per unit of a bare number (durations are written in seconds, held in ns).
    fn bare_factor(self) -> f64 {
        match self {
            Kind::Duration => 1e9,
            _ => 1.0,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Duration => "a duration (\"250ms\", \"10s\", \"1h30m\"; a bare number is seconds)",
            Kind::Size => "a size (\"512B\", \"30MB\", \"2GiB\"; a bare number is bytes)",
            Kind::Bandwidth => {
                "a bandwidth (\"1Gbps\", \"100MB/s\", \"unlimited\"; a bare number is bytes/s)"
            }
            Kind::Rate => "a rate (\"2/s\", \"120/m\", \"100/6h\"; a bare number is per second)",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Bound {
    NonNegative,
    Positive,
}

impl Ctx {
    /// A scalar quantity (string with unit or bare number) in base units.
    pub(super) fn scalar(&mut self, path: &KeyPath, v: &Value, kind: Kind) -> Option<f64> {
        let r = match v {
            Value::String(s) => kind.parse(s),
            Value::Integer(i) if *i < 0 => Err(format!("must not be negative, got {i}")),
            Value::Integer(i) => Ok(*i as f64 * kind.bare_factor()),
            Value::Float(f) if !f.is_finite() => Err(format!("must be a finite number, got {f}")),
            Value::Float(f) if *f < 0.0 => Err(format!("must not be negative, got {f}")),
            Value::Float(f) => Ok(f * kind.bare_factor()),
            other => Err(format!("expected {}, got {}", kind.describe(), type_name(other))),
        };
        match r {
            Ok(x) => Some(x),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }

    /// A quantity that may be a distribution table. `None` when absent (and no default) or bad.
    pub(super) fn dist(
        &mut self,
        path: &KeyPath,
        v: Option<&Value>,
        kind: Kind,
        bound: Bound,
    ) -> Option<Dist> {
        let v = v?;
        let d = match v {
            Value::Table(t) => self.dist_table(path, t, kind)?,
            _ => Dist::Constant(self.scalar(path, v, kind)?),
        };
        let ok = match (&d, bound) {
            (_, Bound::NonNegative) => true,
            (Dist::Constant(x), Bound::Positive) => *x > 0.0,
            (Dist::Exponential { mean }, Bound::Positive) => *mean > 0.0,
            (Dist::Uniform { min, .. }, Bound::Positive) => *min > 0.0,
            (Dist::LogNormal { .. }, Bound::Positive) => true,
            (Dist::Empirical { values, .. }, Bound::Positive) => values.iter().all(|x| *x > 0.0),
        };
        if !ok {
            self.err(path, "must be greater than 0 (every value the distribution can draw)");
            return None;
        }
        Some(d)
    }

    pub(super) fn dist_or(
        &mut self,
        path: &KeyPath,
        v: Option<&Value>,
        kind: Kind,
        bound: Bound,
        default: f64,
    ) -> Dist {
        match v {
            None => Dist::Constant(default),
            Some(_) => self.dist(path, v, kind, bound).unwrap_or(Dist::Constant(default)),
        }
    }

    fn dist_table(&mut self, path: &KeyPath, t: &toml::Table, kind: Kind) -> Option<Dist> {
        const KINDS: &str = "constant, exponential, uniform, lognormal, empirical";
        let name = match t.get("dist") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                self.err(&path.key("dist"), format!("expected a string, one of {KINDS}"));
                return None;
            }
            None => {
                self.err(
                    path,
                    format!(
                        "a distribution table needs `dist` = one of {KINDS}, e.g. \
                         {{ dist = \"exponential\", mean = \"100MB\" }}"
                    ),
                );
                return None;
            }
        };
        let params: &[&str] = match name {
            "constant" => &["value"],
            "exponential" => &["mean"],
            "uniform" => &["min", "max"],
            "lognormal" => &["median", "sigma"],
            "empirical" => &["values", "weights"],
            other => {
                self.err(
                    &path.key("dist"),
                    unknown_value(
                        format!("unknown distribution {other:?}"),
                        other,
                        &["constant", "exponential", "uniform", "lognormal", "empirical"],
                        &format!("one of {KINDS}"),
                    ),
                );
                return None;
            }
        };
        let mut ok = true;
        // A parameter whose misspelling was reported is not reported missing as well.
        let mut misspelt = Vec::new();
        for k in t.keys() {
            if k != "dist" && !params.contains(&k.as_str()) {
                let guess = suggest::closest(k, params.iter().copied()).filter(|g| !t.contains_key(*g));
                misspelt.extend(guess);
                let guess = guess.map_or(String::new(), |g| format!("did you mean `{g}`? "));
                self.err(
                    &path.key(k),
                    format!("unknown key `{k}` for dist = {name:?} ({guess}expected {})", params.join(", ")),
                );
                ok = false;
            }
        }
        for p in params {
            if !t.contains_key(*p) && !misspelt.contains(p) {
                self.err(path, format!("dist = {name:?} needs `{p}`"));
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let q = |this: &mut Ctx, key: &str| -> Option<f64> {
            let x = this.scalar(&path.key(key), t.get(key)?, kind)?;
            if name != "constant" && x.is_infinite() {
                this.err(&path.key(key), "\"unlimited\" can only be a constant, not part of a distribution");
                return None;
            }
            Some(x)
        };
        match name {
            "constant" => Some(Dist::Constant(q(self, "value")?)),
            "exponential" => Some(Dist::Exponential { mean: q(self, "mean")? }),
            "uniform" => {
                let (min, max) = (q(self, "min"), q(self, "max"));
                let (min, max) = (min?, max?);
                if min > max {
                    self.err(path, "uniform needs min <= max");
                    return None;
                }
                Some(Dist::Uniform { min, max })
            }
            "lognormal" => {
                let median = q(self, "median")?;
                let sigma = self.plain_number(&path.key("sigma"), t.get("sigma")?)?;
                if median <= 0.0 {
                    self.err(&path.key("median"), "lognormal median must be greater than 0");
                    return None;
                }
                Some(Dist::LogNormal { median, sigma })
            }
            _ => {
                let (Some(Value::Array(values)), Some(Value::Array(weights))) =
                    (t.get("values"), t.get("weights"))
                else {
                    self.err(path, "empirical needs `values` and `weights` arrays");
                    return None;
                };
                if values.is_empty() || values.len() != weights.len() {
                    self.err(path, "empirical needs as many weights as values, and at least one value");
                    return None;
                }
                let mut vs = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    let x = self.scalar(&path.key("values").index(i, None), v, kind)?;
                    if x.is_infinite() {
                        self.err(
                            &path.key("values").index(i, None),
                            "\"unlimited\" cannot be an empirical value",
                        );
                        return None;
                    }
                    vs.push(x);
                }
                let mut cum = Vec::new();
                let mut total = 0.0;
                for (i, w) in weights.iter().enumerate() {
                    total += self.plain_number(&path.key("weights").index(i, None), w)?;
                    cum.push(total);
                }
                if total <= 0.0 {
                    self.err(&path.key("weights"), "empirical weights must not all be 0");
                    return None;
                }
                Some(Dist::Empirical { values: vs, cum_weights: cum })
            }
        }
    }

    /// A unitless non-negative finite number.
    pub(super) fn plain_number(&mut self, path: &KeyPath, v: &Value) -> Option<f64> {
        let x = match v {
            Value::Integer(i) => *i as f64,
            Value::Float(f) => *f,
            other => {
                self.err(path, format!("expected a plain number, got {}", type_name(other)));
                return None;
            }
        };
        if !x.is_finite() || x < 0.0 {
            self.err(path, format!("must be a finite number >= 0, got {x}"));
            return None;
        }
        Some(x)
    }

    /// A fixed (non-random) duration; `default` when absent or invalid.
    pub(super) fn duration(
        &mut self,
        path: &KeyPath,
        v: Option<&Value>,
        default: SimDuration,
    ) -> SimDuration {
        self.duration_opt(path, v).unwrap_or(default)
    }

    pub(super) fn duration_opt(&mut self, path: &KeyPath, v: Option<&Value>) -> Option<SimDuration> {
        let d = self.dist(path, v, Kind::Duration, Bound::NonNegative)?;
        match d.as_constant() {
            Some(ns) => Some(SimDuration(crate::engine::dist::to_u64(ns))),
            None => {
                self.err(path, "must be a fixed duration here, not a random distribution");
                None
            }
        }
    }
}
