//! Process CPU time for the benchmark examples (shared with `#[path]`).

/// User + system CPU time of this process (all threads), from `/proc/self/stat` (Linux;
/// clock ticks of 1/100 s, the fixed `USER_HZ` of the Linux ABI). `None` elsewhere.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
