//! Benchmark of `check` on the same big job written in the DSL and in JSON.
//!
//! Run with `cargo bench --bench dsl`; `benches/README.md` explains the table and holds the figures
//! measured so far. Each job is built once as IR and printed by the two printers, so both files
//! say exactly the same thing; they are written to `benches/data/` (ignored by git).
//!
//! Time is the median of several in-process runs of [`factotum::check`] on a freshly read
//! source. Peak memory is measured in a child process (this benchmark run again with
//! `--peak-rss FILE`) that reads and checks one file and reports its high-water mark from
//! `/proc/self/status`, so the sizes measured before do not count.

// Task counts and byte sizes here stay far below 2^52, where `as f64` starts rounding.
#![allow(clippy::cast_precision_loss)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use factotum::ir::{Job, OnResult, SCHEMA_1_0_0, Task};
use factotum::source::Source;
use factotum::span::{Span, Spanned};
use factotum::template::Template;

/// Timed runs per measurement; the median is reported.
const RUNS: usize = 5;
/// Task counts, doubling, to show how time and memory grow.
const SIZES: [usize; 4] = [12_500, 25_000, 50_000, 100_000];

fn main() {
    let mut args = std::env::args().skip(1);
    if let (Some(flag), Some(file)) = (args.next(), args.next())
        && flag == "--peak-rss"
    {
        report_peak_rss(Path::new(&file));
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data");
    std::fs::create_dir_all(&dir).expect("benches/data can be created");
    println!(
        "| tasks | JSON MB | DSL MB | JSON check | DSL check | DSL / JSON | DSL µs/task | JSON peak RSS | DSL peak RSS | DSL RSS / DSL size |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for tasks in SIZES {
        let job = generate(tasks);
        let json = write(
            &dir,
            tasks,
            "factfile",
            &factotum::render::json::print(&job),
        );
        let dsl = write(
            &dir,
            tasks,
            "factotum",
            &factotum::render::dsl::print(&job, &[]),
        );
        let json_time = median_check_time(&json);
        let dsl_time = median_check_time(&dsl);
        let json_rss = peak_rss(&json);
        let dsl_rss = peak_rss(&dsl);
        let json_size = file_size(&json);
        let dsl_size = file_size(&dsl);
        println!(
            "| {tasks} | {:.1} | {:.1} | {} | {} | {:.2}× | {:.2} | {:.0} MB | {:.0} MB | {:.1}× |",
            megabytes(json_size),
            megabytes(dsl_size),
            millis(json_time),
            millis(dsl_time),
            dsl_time.as_secs_f64() / json_time.as_secs_f64(),
            dsl_time.as_secs_f64() * 1e6 / tasks as f64,
            megabytes(json_rss),
            megabytes(dsl_rss),
            dsl_rss as f64 / dsl_size as f64,
        );
    }
    print_fmt_with_comments();
}

/// `fmt` of a job with a comment before every task and at the end of every `run` line: the time
/// per task stays flat as the job grows when the printer finds each construct's comments
/// without scanning them all (issue 11).
fn print_fmt_with_comments() {
    println!("\n| tasks | comments | fmt | fmt µs/task |");
    println!("|---:|---:|---:|---:|");
    for tasks in SIZES {
        let plain = factotum::render::dsl::print(&generate(tasks), &[]);
        let mut commented = String::with_capacity(plain.len() * 2);
        for line in plain.lines() {
            if line.starts_with("task ") {
                commented.push_str("# the next task\n");
            }
            commented.push_str(line);
            if line.trim_start().starts_with("run ") {
                commented.push_str("  # what it runs");
            }
            commented.push('\n');
        }
        let parsed = factotum::syntax::parse(&Source::new("bench.factotum", commented));
        let job = parsed.job.expect("the commented job parses");
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(factotum::render::dsl::print(&job, &parsed.comments));
                started.elapsed()
            })
            .collect();
        times.sort();
        let median = times[RUNS / 2];
        println!(
            "| {tasks} | {} | {} | {:.2} |",
            parsed.comments.len(),
            millis(median),
            median.as_secs_f64() * 1e6 / tasks as f64,
        );
    }
}

/// A job of `count` tasks shaped like a warehouse pipeline: task `i` waits for one to three
/// earlier tasks, mostly recent ones; half of them may finish early on code 3.
fn generate(count: usize) -> Job {
    let mut random = XorShift(0x5eed_f00d_dead_beef);
    let text = |text: String| Template::literal(text, Span::default());
    let codes = |codes: &[u16]| {
        Spanned::new(
            codes
                .iter()
                .map(|&c| Spanned::new(c, Span::default()))
                .collect(),
            Span::default(),
        )
    };
    let tasks = (0..count)
        .map(|index| {
            let mut depends_on: Vec<usize> = Vec::new();
            let wanted = (1 + random.below(3)).min(index);
            while depends_on.len() < wanted {
                let dependency = index - 1 - random.below(index.min(50));
                if !depends_on.contains(&dependency) {
                    depends_on.push(dependency);
                }
            }
            let finish: &[u16] = if random.below(2) == 0 { &[3] } else { &[] };
            Task {
                name: text(format!("task-{index:06}")),
                executor: Spanned::new("shell".to_owned(), Span::default()),
                command: text("echo".to_owned()),
                arguments: vec![
                    text(format!("--batch={}", random.below(1000))),
                    text(format!("task-{index:06} finished")),
                ],
                depends_on: depends_on
                    .into_iter()
                    .map(|dependency| text(format!("task-{dependency:06}")))
                    .collect(),
                on_result: OnResult {
                    terminate_job_with_success: codes(finish),
                    continue_job: codes(&[0]),
                },
                retry: None,
                timeout: None,
                env: Vec::new(),
                working_directory: None,
                pool: None,
            }
        })
        .collect();
    Job {
        schema: Spanned::new(SCHEMA_1_0_0.to_owned(), Span::default()),
        name: text(format!("benchmark job of {count} tasks")),
        tasks,
        constraints: Vec::new(),
        declares_constraints: false,
        timeout: None,
        pools: Vec::new(),
    }
}

/// A small, fixed pseudo-random sequence, so every run sees the same files.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        // The bound is small, so the remainder fits a usize and its bias does not matter.
        usize::try_from(self.0 % bound as u64).unwrap_or_default()
    }
}

fn write(dir: &Path, tasks: usize, extension: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("dsl-bench-{tasks}.{extension}"));
    std::fs::write(&path, text).expect("the generated job can be written");
    path
}

/// The median time to read and check `path`, which must have no problems.
fn median_check_time(path: &Path) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let (source, unreadable) = Source::read(path);
            assert!(unreadable.is_none());
            let diagnostics = factotum::check(&source, None);
            let elapsed = started.elapsed();
            assert!(
                diagnostics.is_empty(),
                "{}: {:?}",
                path.display(),
                diagnostics[0]
            );
            elapsed
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

/// The peak resident memory, in bytes, of a process that reads and checks `path`.
fn peak_rss(path: &Path) -> u64 {
    let output = Command::new(std::env::current_exe().expect("this benchmark's path"))
        .arg("--peak-rss")
        .arg(path)
        .output()
        .expect("the benchmark can run itself");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the child prints its peak RSS")
}

/// The child's side of [`peak_rss`]: check, then print `VmHWM` in bytes.
fn report_peak_rss(path: &Path) {
    let (source, _) = Source::read(path);
    let diagnostics = factotum::check(&source, None);
    std::hint::black_box(&diagnostics);
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux's /proc");
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line");
    println!("{}", kilobytes * 1024);
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).expect("the file exists").len()
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn millis(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1e3)
}
