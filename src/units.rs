//! STUB: unit parsing (durations, sizes, bandwidths, rates) — replaced by the loader work.
