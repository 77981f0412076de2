//! Rendering: the comparison table (terminal and Markdown), the Markdown report and the SVG chart of speedups.

use std::io;
use std::path::{Path, PathBuf};

use comfy_table::{CellAlignment, Table, presets};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::backend::EngineKind;
use crate::compare::{CompareReport, CompareRow};
use crate::format::{kib, micros, ops};
use crate::runner::Mode;

/// The columns of the comparison table.
pub const COLUMNS: [&str; 8] = [
    "engine",
    "workload",
    "mode",
    "ops/s",
    "p50",
    "p99",
    "speedup pooled/fresh",
    "memory per idle instance",
];

fn cells(row: &CompareRow) -> [String; 8] {
    let pooled = row.mode == Mode::Pooled;
    [
        row.engine.to_string(),
        row.workload.to_owned(),
        row.mode.to_string(),
        ops(row.ops_per_s),
        micros(row.p50_us),
        micros(row.p99_us),
        match (pooled, row.speedup) {
            (true, Some(s)) => format!("{s:.1}x"),
            _ => String::new(),
        },
        match (row.memory_per_idle_bytes, row.memory_method) {
            (Some(bytes), Some(method)) => match row.memory_unisolated_bytes {
                Some(bare) => format!(
                    "{} ({}; {} unisolated)",
                    kib(bytes),
                    method.name(),
                    kib(bare)
                ),
                None => format!("{} ({})", kib(bytes), method.name()),
            },
            _ => String::new(),
        },
    ]
}

/// The comparison as a table; `markdown` picks a Markdown table instead of box drawing.
pub fn table(report: &CompareReport, markdown: bool) -> Table {
    let mut table = Table::new();
    table.load_style(if markdown {
        presets::ASCII_MARKDOWN
    } else {
        presets::UTF8_FULL_CONDENSED
    });
    table.set_header(COLUMNS);
    for row in &report.rows {
        table.add_row(cells(row));
    }
    for i in 3..COLUMNS.len() {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Lines about requests that failed, if any did (they should not: every built-in workload is valid everywhere).
pub fn failures(report: &CompareReport) -> Vec<String> {
    report
        .rows
        .iter()
        .filter(|r| r.errors > 0)
        .map(|r| {
            format!(
                "warning: {} {} {}: {} of {} requests failed or returned an unexpected value",
                r.engine, r.workload, r.mode, r.errors, r.requests
            )
        })
        .collect()
}

/// The text printed by `compare` without `--json`: the table, then the settings.
pub fn text(report: &CompareReport) -> String {
    let mut out = table(report, false).to_string();
    out.push('\n');
    for line in failures(report) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&settings(report));
    out.push('\n');
    out
}

fn settings(report: &CompareReport) -> String {
    format!(
        "{} engine(s), {} thread(s) per cell, at most {} requests or {:.1} s per cell; pooled: strict isolation, \
         reset after every use; fresh: a new instance per request (Isolation::None); memory: per idle instance \
         after one use and its reset, under strict isolation and (unisolated) Isolation::None (engine: the \
         engine's own accounting; rss: resident-set growth in a fresh process); {} CPUs ({}); took {:.1} s",
        report
            .rows
            .iter()
            .map(|r| r.engine)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        report.concurrency,
        report.requests_per_cell,
        report.budget_s,
        report.machine.cpus,
        report.machine.cpu_model,
        report.elapsed_s
    )
}

/// The Markdown report written by `compare --out DIR`.
pub fn markdown(report: &CompareReport, command: &str, chart: &str) -> String {
    let mut out = String::new();
    out.push_str("# vmpool-bench compare\n\n");
    out.push_str(&format!("Command: `{command}`\n\n"));
    out.push_str(&format!(
        "Machine: {} CPUs, {}\n\n",
        report.machine.cpus, report.machine.cpu_model
    ));
    out.push_str(&table(report, true).to_string());
    out.push_str("\n\n");
    for line in failures(report) {
        out.push_str(&format!("- {line}\n"));
    }
    out.push_str(&format!("{}\n\n", settings(report)));
    out.push_str(
        "Speedup is pooled throughput over fresh throughput for the same engine and workload. \
         Pooled requests go through `Pool::acquire`, the call, and the release (with the strict reset); \
         fresh requests create an instance (running the prelude), call, and drop it.\n\n",
    );
    out.push_str(&format!("![Speedup pooled/fresh]({chart})\n"));
    out
}

fn colour(engine: EngineKind) -> RGBColor {
    match engine {
        EngineKind::QuickJs => RGBColor(52, 101, 164),
        EngineKind::Lua => RGBColor(78, 154, 6),
        EngineKind::Boa => RGBColor(206, 92, 0),
    }
}

/// Draws the speedups (one bar per engine and workload, log scale, 1x marked) as an SVG file.
///
/// # Errors
/// The file cannot be written.
pub fn speedup_chart(report: &CompareReport, path: &Path) -> io::Result<()> {
    let bars: Vec<(String, EngineKind, f64)> = report
        .rows
        .iter()
        .filter(|r| r.mode == Mode::Pooled)
        .filter_map(|r| {
            r.speedup
                .map(|s| (format!("{} {}", r.engine, r.workload), r.engine, s))
        })
        .collect();
    draw_chart(&bars, path)
        .map_err(|e| io::Error::other(format!("cannot draw {}: {e}", path.display())))
}

fn draw_chart(
    bars: &[(String, EngineKind, f64)],
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let n = bars.len().max(1);
    // A segmented 0..=last range has one segment per value.
    let last = if n > 1 { n - 1 } else { 1 };
    let width = u32::try_from((130 * n + 140).max(640)).unwrap_or(u32::MAX);
    let root = SVGBackend::new(path, (width, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars.iter().map(|b| b.2).fold(2.0_f64, f64::max).max(2.0) * 2.0;
    let bottom = bars.iter().map(|b| b.2).fold(1.0_f64, f64::min).min(1.0) / 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "vmpool: throughput pooled / fresh (higher is better)",
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0..last).into_segmented(), (bottom..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .y_labels(8)
        .x_labels(n)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc("speedup (x, log scale)")
        .y_label_formatter(&|y| format!("{y}x"))
        .draw()?;
    chart.draw_series(
        Histogram::vertical(&chart)
            .margin(12)
            .baseline(1.0)
            .style_func(|x, _| match x {
                SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => bars
                    .get(*i)
                    .map_or(BLACK.filled(), |b| colour(b.1).filled()),
                SegmentValue::Last => BLACK.filled(),
            })
            .data(bars.iter().enumerate().map(|(i, b)| (i, b.2))),
    )?;
    let label = ("sans-serif", 15)
        .into_font()
        .into_text_style(&root)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        Text::new(
            format!("{:.1}x", b.2),
            (SegmentValue::CenterOf(i), b.2.max(1.0) * 1.04),
            label.clone(),
        )
    }))?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(SegmentValue::Exact(0), 1.0), (SegmentValue::Last, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    root.present()?;
    Ok(())
}

/// Writes `compare.md` and `speedup.svg` into `dir` (created if missing); returns their paths.
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_out(report: &CompareReport, dir: &Path, command: &str) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let chart = dir.join("speedup.svg");
    speedup_chart(report, &chart)?;
    let md = dir.join("compare.md");
    std::fs::write(&md, markdown(report, command, "speedup.svg"))?;
    Ok(vec![md, chart])
}
