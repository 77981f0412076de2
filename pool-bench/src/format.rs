//! Formatting for the terminal and the reports: numbers and sizes as text, and the progress bar of long runs.
//! A leaf: it uses no other module of the crate.

/// Requests per second, grouped by thousands (`12,345`), with a decimal below 100.
pub fn ops(per_s: f64) -> String {
    if per_s < 100.0 {
        return format!("{per_s:.1}");
    }
    let digits = format!("{:.0}", per_s);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency given in microseconds, in the unit that reads best.
pub fn micros(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

/// A size in KiB.
pub fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

/// A progress bar over `steps` steps of a long run, with a spinner, the elapsed time and a message for the step
/// under way.
pub fn steps_bar(steps: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(steps);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(ops(1_234_567.4), "1,234,567");
        assert_eq!(ops(999.6), "1,000");
        assert_eq!(ops(12.34), "12.3");
        assert_eq!(micros(12.34), "12.3 µs");
        assert_eq!(micros(1234.0), "1.23 ms");
        assert_eq!(micros(2_500_000.0), "2.50 s");
        assert_eq!(kib(165 * 1024), "165 KiB");
    }
}
