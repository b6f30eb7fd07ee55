//! Benchmark of the whole `check` (parse, lower, lint) on big generated factfiles.
//!
//! Run with `cargo bench --bench check`; see `benches/README.md` for what the table means.
//! `cargo bench --bench check -- --generate-only` only writes the files under `benches/data`
//! that `benches/cli.py` measures.

use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use codespan_reporting::term::termcolor::NoColor;
use factotum::diag::Diagnostic;
use factotum::render::diagnostics::{Report, print_human};
use factotum::source::Source;

/// Timed runs per measurement; the median is reported.
const RUNS: usize = 5;
/// The seed of every generated job, so each run of the benchmark sees the same files.
const SEED: u64 = 0x00fa_c707_0b5e_55ed;
/// The task name used by the broken-reference variant: one past the last task, like an
/// off-by-one in a generator script.
const MISSING_TASK: &str = "task-100000";

/// `SplitMix64`: a tiny, well-mixed generator; good enough to pick dependencies.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (the modulo bias is negligible for these small bounds).
    fn below(&mut self, bound: usize) -> usize {
        let bound = u64::try_from(bound).expect("usize fits in u64");
        usize::try_from(self.next_u64() % bound).expect("less than a usize bound")
    }
}

/// How the generated job ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Every task is fine.
    Valid,
    /// The last task also depends on a task that does not exist: a lint error (E401) that the
    /// fast `serde_json` path still reaches.
    UnknownDependency,
    /// The last task has an extra key `retries`: a schema error (E201), so the fast path gives
    /// up at the very end.
    UnknownKey,
    /// The last task continues on exit code 70000, which is not one (E205).
    BadCode,
    /// A comma is missing between two keys of the last task: a syntax error (E100).
    SyntaxError,
}

/// A job of `count` tasks, pretty-printed like the samples of Factotum 0.7. Task `i` depends on
/// one to three distinct earlier tasks, mostly recent ones, as in real pipelines.
fn generate(count: usize, tail: Tail) -> String {
    let mut rng = SplitMix64(SEED ^ u64::try_from(count).expect("usize fits in u64"));
    let mut out = String::with_capacity(count * 430 + 256);
    let _ = write!(
        out,
        "{{\n    \"schema\": \"{}\",\n    \"data\": {{\n        \"name\": \"benchmark job of {count} tasks\",\n        \"tasks\": [\n",
        factotum::ir::SCHEMA_1_0_0,
    );
    let mut depends_on: Vec<usize> = Vec::with_capacity(3);
    for index in 0..count {
        let last = index + 1 == count;
        depends_on.clear();
        let wanted = (1 + rng.below(3)).min(index);
        while depends_on.len() < wanted {
            let dependency = if rng.below(4) == 0 {
                rng.below(index)
            } else {
                index - 1 - rng.below(index.min(64))
            };
            if !depends_on.contains(&dependency) {
                depends_on.push(dependency);
            }
        }
        depends_on.sort_unstable();

        out.push_str("            {\n");
        let _ = writeln!(out, "                \"name\": \"task-{index:06}\",");
        out.push_str("                \"executor\": \"shell\",\n");
        out.push_str(if last && tail == Tail::SyntaxError {
            "                \"command\": \"echo\"\n"
        } else {
            "                \"command\": \"echo\",\n"
        });
        let _ = writeln!(
            out,
            "                \"arguments\": [ \"--batch={}\", \"task-{index:06} finished\" ],",
            rng.below(1000),
        );
        out.push_str("                \"dependsOn\": [");
        let mut names = depends_on
            .iter()
            .map(|dependency| format!("\"task-{dependency:06}\""))
            .collect::<Vec<_>>();
        if last && tail == Tail::UnknownDependency {
            names.push(format!("\"{MISSING_TASK}\""));
        }
        if !names.is_empty() {
            let _ = write!(out, " {} ", names.join(", "));
        }
        out.push_str("],\n");
        if last && tail == Tail::UnknownKey {
            out.push_str("                \"retries\": 3,\n");
        }
        out.push_str("                \"onResult\": {\n");
        let terminate = if rng.below(2) == 0 { "[ 3 ]" } else { "[]" };
        let _ = writeln!(
            out,
            "                    \"terminateJobWithSuccess\": {terminate},"
        );
        out.push_str(if last && tail == Tail::BadCode {
            "                    \"continueJob\": [ 70000 ]\n"
        } else {
            "                    \"continueJob\": [ 0 ]\n"
        });
        out.push_str("                }\n");
        out.push_str(if last {
            "            }\n"
        } else {
            "            },\n"
        });
    }
    out.push_str("        ]\n    }\n}\n");
    out
}

/// Where the generated files go; `benches/data` is ignored by git.
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data")
}

/// A buffer twice the size of the last-level cache (32 MiB on the machine measured), written
/// before each timed run so every run starts with the caches holding none of its data, as a
/// fresh `factotum check` process would.
struct Evictor(Vec<u8>);

impl Evictor {
    fn new() -> Self {
        Self(vec![0; 64 << 20])
    }

    fn evict(&mut self) {
        for byte in self.0.iter_mut().step_by(64) {
            *byte = byte.wrapping_add(1);
        }
        black_box(&self.0);
    }
}

/// How long one piece of work took: on the wall clock, and on a core.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    /// Time this thread spent running, kernel work such as page faults included, but not time
    /// spent waiting for a core: the better figure on a shared machine. `None` off Linux.
    cpu: Option<Duration>,
}

/// Nanoseconds this thread has run, from `/proc/thread-self/schedstat` (Linux only).
fn cpu_now() -> Option<Duration> {
    let stat = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort_unstable();
    durations[durations.len() / 2]
}

/// The medians of `runs` timed calls of `run`, after one untimed warm-up call. With an
/// evictor, the caches are flushed before each call.
fn median_time<T>(
    runs: usize,
    mut evictor: Option<&mut Evictor>,
    mut run: impl FnMut() -> T,
) -> Timing {
    black_box(run());
    let mut walls = Vec::with_capacity(runs);
    let mut cpus = Vec::with_capacity(runs);
    for _ in 0..runs {
        let timing = time_once(evictor.as_deref_mut(), &mut run);
        walls.push(timing.wall);
        cpus.extend(timing.cpu);
    }
    Timing {
        wall: median(walls),
        cpu: (cpus.len() == runs).then(|| median(cpus)),
    }
}

/// One timed call of `run`, after flushing the caches when there is an evictor.
fn time_once<T>(evictor: Option<&mut Evictor>, mut run: impl FnMut() -> T) -> Timing {
    if let Some(evictor) = evictor {
        evictor.evict();
    }
    let cpu_start = cpu_now();
    let start = Instant::now();
    black_box(run());
    let wall = start.elapsed();
    let cpu = cpu_start
        .zip(cpu_now())
        .map(|(before, after)| after.saturating_sub(before));
    Timing { wall, cpu }
}

/// How many times longer `run` takes on `big` than on `small`: timed in alternation (small,
/// big, small, big, …, caches flushed before each), so that the machine changing speed during
/// the benchmark, as a shared one does, hits both sizes alike. The median of the ratios of
/// each pair, on the wall clock and on a core.
fn growth(
    pairs: usize,
    evictor: &mut Evictor,
    small: &str,
    big: &str,
    run: impl Fn(&str) -> usize,
) -> (f64, Option<f64>) {
    let mut walls = Vec::with_capacity(pairs);
    let mut cpus = Vec::with_capacity(pairs);
    black_box(run(small) + run(big));
    for _ in 0..pairs {
        let small = time_once(Some(evictor), || run(small));
        let big = time_once(Some(evictor), || run(big));
        walls.push(big.wall.as_secs_f64() / small.wall.as_secs_f64());
        if let (Some(small), Some(big)) = (small.cpu, big.cpu) {
            cpus.push(big.as_secs_f64() / small.as_secs_f64());
        }
    }
    let median_ratio = |mut ratios: Vec<f64>| {
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    };
    let cpu = (cpus.len() == pairs).then(|| median_ratio(cpus));
    (median_ratio(walls), cpu)
}

/// A `/proc/self/status` field in KiB (Linux only).
fn status_kib(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The child side of [`peak_growth`]: reads `path`, then runs `what` on it once and prints how
/// far the resident set rose above what it was with the text loaded, in KiB.
fn report_peak(what: &str, path: &str) {
    let text = fs::read_to_string(path).expect("the benchmark wrote this file");
    // Start the high-water mark from here: reading may have held a second buffer.
    fs::write("/proc/self/clear_refs", "5").expect("Linux only");
    let before = status_kib("VmRSS:").expect("Linux only");
    match what {
        "check" => {
            black_box(factotum::check(&Source::new(path, text), None));
        }
        "serde" => {
            black_box(serde_value(&text));
        }
        _ => panic!("unknown measurement {what}"),
    }
    let peak = status_kib("VmHWM:").expect("Linux only");
    println!("{}", peak.saturating_sub(before));
}

/// How much memory `what` (`check` or `serde`) needs beyond the text itself, in bytes: this
/// benchmark runs itself again on the file, so the allocator starts empty. `None` off Linux.
fn peak_growth(what: &str, file: &str) -> Option<u64> {
    let output = Command::new(std::env::current_exe().ok()?)
        .args(["--peak", what])
        .arg(data_dir().join(file))
        .output()
        .ok()?;
    let kib: u64 = String::from_utf8(output.stdout).ok()?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// `factotum::check` exactly as the benchmark brief states it: the text is copied into a new
/// `Source` each time, as reading the file would.
fn check(text: &str) -> Vec<Diagnostic> {
    factotum::check(&Source::new("bench.factfile", text.to_owned()), None)
}

/// `check` on the DSL text of a job: the file name tells `check` which front end to use.
fn check_dsl(text: &str) -> Vec<Diagnostic> {
    factotum::check(&Source::new("bench.factotum", text.to_owned()), None)
}

/// The same job in the DSL, as `factotum convert --to dsl` writes it.
fn to_dsl(json: &str) -> String {
    let compiled = factotum::compile(&Source::new("bench.factfile", json.to_owned()), None);
    let job = compiled.job.expect("the generated job is valid");
    factotum::render::dsl::print(&job, &[])
}

/// `check` followed by printing every diagnostic the way `factotum check` does.
fn check_and_print(text: &str) -> usize {
    let source = Source::new("bench.factfile", text.to_owned());
    let diagnostics = factotum::check(&source, None);
    let report = Report {
        source,
        diagnostics,
    };
    let mut out = NoColor::new(Vec::new());
    print_human(&mut out, &report).expect("printing into memory cannot fail");
    out.into_inner().len()
}

/// `serde_json` building a `Value` of the same text, dropped inside the timing like the IR; on
/// a file with a syntax error, as far as the error.
fn serde_value(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|value| value.is_object())
}

/// The codes `check` finds, asserted before anything is timed.
fn codes(text: &str) -> Vec<&'static str> {
    check(text)
        .iter()
        .map(|diagnostic| diagnostic.problem.code())
        .collect()
}

/// One generated job: where it is written and what `check` must find in it.
struct Case {
    label: &'static str,
    file: &'static str,
    text: String,
    expected: &'static [&'static str],
}

/// One row of the table.
struct Row {
    label: &'static str,
    bytes: usize,
    check: Timing,
    printed: Option<Timing>,
    serde: Timing,
    check_peak: Option<u64>,
    serde_peak: Option<u64>,
}

fn megabytes(bytes: usize) -> f64 {
    f64::from(u32::try_from(bytes).expect("generated files stay under 4 GB")) / 1e6
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn peak_text(peak: Option<u64>) -> String {
    peak.map_or_else(
        || "n/a".to_owned(),
        |bytes| {
            let kib = u32::try_from(bytes / 1024).expect("peak under 4 TiB");
            format!("{:.0}", f64::from(kib) * 1024.0 / 1e6)
        },
    )
}

fn measure(case: &Case, runs: usize, evictor: &mut Evictor) -> Row {
    let text = case.text.as_str();
    assert_eq!(
        codes(text),
        case.expected,
        "{}: unexpected diagnostics",
        case.label
    );
    let check_time = median_time(runs, Some(evictor), || check(text).len());
    let printed = (!case.expected.is_empty())
        .then(|| median_time(runs, Some(evictor), || check_and_print(text)));
    let serde = median_time(runs, Some(evictor), || serde_value(text));
    Row {
        label: case.label,
        bytes: text.len(),
        check: check_time,
        printed,
        serde,
        check_peak: peak_growth("check", case.file),
        serde_peak: peak_growth("serde", case.file),
    }
}

/// Prints one table of times, read from each [`Timing`] by `pick`.
fn print_table(rows: &[Row], pick: impl Fn(Timing) -> Option<Duration>) {
    println!(
        "{:<28} {:>6} {:>9} {:>10} {:>9} {:>7} {:>5} {:>10} {:>10}",
        "case",
        "MB",
        "check ms",
        "+print ms",
        "serde ms",
        "ratio",
        "MB/s",
        "check +MB",
        "serde +MB"
    );
    for row in rows {
        let (Some(check), Some(serde)) = (pick(row.check), pick(row.serde)) else {
            println!("{:<28} (not available on this system)", row.label);
            continue;
        };
        let mb = megabytes(row.bytes);
        let printed = row
            .printed
            .and_then(&pick)
            .map_or_else(|| "-".to_owned(), |d| format!("{:.1}", millis(d)));
        println!(
            "{:<28} {:>6.1} {:>9.1} {:>10} {:>9.1} {:>6.2}x {:>5.0} {:>10} {:>10}",
            row.label,
            mb,
            millis(check),
            printed,
            millis(serde),
            check.as_secs_f64() / serde.as_secs_f64(),
            mb / check.as_secs_f64(),
            peak_text(row.check_peak),
            peak_text(row.serde_peak),
        );
    }
}

fn write_file(name: &str, text: &str) {
    let dir = data_dir();
    fs::create_dir_all(&dir).expect("cannot create benches/data");
    let path = dir.join(name);
    fs::write(&path, text)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}

/// The generated jobs, valid and with one error in the last task.
fn cases() -> [Case; 6] {
    [
        Case {
            label: "10k tasks",
            file: "10k.factfile",
            text: generate(10_000, Tail::Valid),
            expected: &[],
        },
        Case {
            label: "100k tasks",
            file: "100k.factfile",
            text: generate(100_000, Tail::Valid),
            expected: &[],
        },
        Case {
            label: "100k, unknown dependency",
            file: "100k-unknown-dependency.factfile",
            text: generate(100_000, Tail::UnknownDependency),
            expected: &["E401"],
        },
        Case {
            label: "100k, unknown key",
            file: "100k-unknown-key.factfile",
            text: generate(100_000, Tail::UnknownKey),
            expected: &["E201"],
        },
        Case {
            label: "100k, bad exit code",
            file: "100k-bad-code.factfile",
            text: generate(100_000, Tail::BadCode),
            expected: &["E205"],
        },
        Case {
            label: "100k, syntax error",
            file: "100k-syntax-error.factfile",
            text: generate(100_000, Tail::SyntaxError),
            expected: &["E100"],
        },
    ]
}

/// A growth ratio on a core, when there is one.
fn on_a_core(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}x"))
}

/// The growth from 10k to 100k tasks of files with an error in the last task, from which the
/// cost of much larger invalid files is extrapolated.
fn print_invalid_growth(pairs: usize, evictor: &mut Evictor) {
    for (label, tail) in [
        ("an unknown key", Tail::UnknownKey),
        ("a syntax error", Tail::SyntaxError),
    ] {
        let (small, big) = (generate(10_000, tail), generate(100_000, tail));
        let check_growth = growth(pairs, evictor, &small, &big, |text| check(text).len());
        let serde_growth = growth(pairs, evictor, &small, &big, |text| {
            usize::from(serde_value(text))
        });
        println!(
            "with {label} in the last task: factotum check {:.2}x wall clock, {} on a core; \
             serde_json Value {:.2}x, {}",
            check_growth.0,
            on_a_core(check_growth.1),
            serde_growth.0,
            on_a_core(serde_growth.1),
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; everything not recognised here is ignored.
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Not a let-chain: those need Rust 1.88, and the crate promises 1.85.
    if let [flag, what, path] = args.as_slice()
        && flag == "--peak"
    {
        report_peak(what, path);
        return;
    }
    let generate_only = args.iter().any(|arg| arg == "--generate-only");
    let runs = args
        .iter()
        .position(|arg| arg == "--runs")
        .and_then(|at| args.get(at + 1))
        .map_or(RUNS, |runs| runs.parse().expect("--runs takes a number"))
        .max(1);

    let cases = cases();
    for case in &cases {
        write_file(case.file, &case.text);
    }
    println!("wrote {}", data_dir().display());
    if generate_only {
        return;
    }

    println!("median of {runs} runs, caches flushed before each; MB = 10^6 bytes");
    println!("ratio = check / serde_json Value; MB/s of check; +print = check, then print it all");
    println!(
        "+MB = rise of the peak resident set over the loaded text, one run in a new process\n"
    );
    let mut evictor = Evictor::new();
    let rows: Vec<Row> = cases
        .iter()
        .map(|case| measure(case, runs, &mut evictor))
        .collect();
    println!("wall clock:");
    print_table(&rows, |timing| Some(timing.wall));
    println!("\non a core (schedstat; leaves out waiting for a core when the machine is shared):");
    print_table(&rows, |timing| timing.cpu);
    let (small, big) = (&cases[0].text, &cases[1].text);
    let pairs = 2 * runs + 1;
    let check_growth = growth(pairs, &mut evictor, small, big, |text| check(text).len());
    let serde_growth = growth(pairs, &mut evictor, small, big, |text| {
        usize::from(serde_value(text))
    });
    println!(
        "\ngrowth 10k -> 100k tasks (size {:.2}x), median of {pairs} pairs timed in alternation:",
        megabytes(big.len()) / megabytes(small.len()),
    );
    println!(
        "factotum check {:.2}x wall clock, {} on a core (goal <= 11x); serde_json Value {:.2}x, {}",
        check_growth.0,
        on_a_core(check_growth.1),
        serde_growth.0,
        on_a_core(serde_growth.1),
    );
    print_invalid_growth(pairs, &mut evictor);
    let (small_dsl, big_dsl) = (to_dsl(small), to_dsl(big));
    assert!(check_dsl(&big_dsl).is_empty(), "the DSL job has problems");
    let dsl_growth = growth(pairs, &mut evictor, &small_dsl, &big_dsl, |text| {
        check_dsl(text).len()
    });
    println!(
        "the same jobs in the DSL ({:.1} MB and {:.1} MB): {:.2}x wall clock, {} on a core",
        megabytes(small_dsl.len()),
        megabytes(big_dsl.len()),
        dsl_growth.0,
        on_a_core(dsl_growth.1),
    );
}
