//! `cargo xtask fuzz [--seconds N] [--target T]...`: seeds each cargo-fuzz target's corpus (see
//! `fuzz_seeds.rs`), runs it for a time budget with `cargo +nightly fuzz run`, and prints the
//! executions and the coverage libFuzzer reached (`cov:` edges, `ft:` features). A crash input
//! is copied into core/tests/fuzz_regressions/<target>/, where `cargo test -p drumsort-core`
//! replays it, and the task fails.
//!
//! Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The corpus grows in
//! fuzz/corpus/<target> across runs (ignored by git); seeds are regenerated every run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// Every target in fuzz/Cargo.toml, in the order they run.
pub const TARGETS: &[&str] =
    &["decode_wav", "decode_aiff", "decode_flac", "decode_mp3", "decode_ogg", "features", "index", "plugin_state"];

/// Where crash inputs of `target` are kept as regression tests: next to the crate whose tests
/// replay them (core/tests/fuzz_regressions.rs, plugin/tests/fuzz_regressions.rs).
fn regressions(target: &str) -> PathBuf {
    let krate = if target.starts_with("plugin_") { "plugin" } else { "core" };
    Path::new(krate).join("tests/fuzz_regressions").join(target)
}

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Time budget per target, seconds (CI: 20-60; on demand: several minutes).
    #[arg(long, default_value_t = 300)]
    seconds: u64,
    /// Run only these targets (repeatable); default: all of them.
    #[arg(long = "target", value_name = "T")]
    targets: Vec<String>,
    /// cargo-fuzz sanitizer: address (default), none (about twice as fast, no memory checks of
    /// unsafe code), ...
    #[arg(long, default_value = "address")]
    sanitizer: String,
}

/// What one run reached, from libFuzzer's status lines and final stats.
#[derive(Debug, Default)]
struct Figures {
    executions: u64,
    exec_per_s: u64,
    cov: u64,
    ft: u64,
    corpus: u64,
    crash: Option<PathBuf>,
}

pub fn run(args: FuzzArgs) -> Result<()> {
    let targets: Vec<&str> = if args.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        for t in &args.targets {
            if !TARGETS.contains(&t.as_str()) {
                bail!("unknown fuzz target {t}; targets: {}", TARGETS.join(", "));
            }
        }
        args.targets.iter().map(String::as_str).collect()
    };
    check_tools()?;
    let build = Instant::now();
    let status = cargo_fuzz("build", &args.sanitizer).status().context("running cargo +nightly fuzz build")?;
    if !status.success() {
        bail!("cargo +nightly fuzz build failed");
    }
    println!("built the fuzz targets in {:.0} s", build.elapsed().as_secs_f64());

    let mut rows = Vec::new();
    for target in &targets {
        let seeds = PathBuf::from("fuzz/seeds").join(target);
        let n = crate::fuzz_seeds::write(target, &seeds)?;
        let corpus = PathBuf::from("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        println!("fuzzing {target} for {} s ({n} seeds)", args.seconds);
        let figures = run_target(target, &corpus, &seeds, &args)?;
        rows.push((target.to_string(), n, figures));
    }

    println!("\ntarget        seconds   executions   exec/s   cov(edges)   ft(features)   corpus   result");
    let mut crashed = Vec::new();
    for (target, _, f) in &rows {
        let result = match &f.crash {
            Some(kept) => {
                crashed.push(kept.clone());
                format!("CRASH, kept as {}", kept.display())
            }
            None => "ok".to_string(),
        };
        println!(
            "{target:<13} {:>7} {:>12} {:>8} {:>12} {:>14} {:>8}   {result}",
            args.seconds, f.executions, f.exec_per_s, f.cov, f.ft, f.corpus
        );
    }
    let total: u64 = rows.iter().map(|r| r.2.executions).sum();
    println!("total executions: {total}");
    if !crashed.is_empty() {
        bail!(
            "{} target(s) crashed; fix them, then `cargo test -p drumsort-core --test fuzz_regressions`",
            crashed.len()
        );
    }
    Ok(())
}

/// `cargo +nightly fuzz <sub>` over fuzz/, building into target/fuzz (ignored by git), with the
/// environment of this stable cargo run removed so the nested cargo picks its own toolchain.
fn cargo_fuzz(sub: &str, sanitizer: &str) -> Command {
    let mut c = Command::new("cargo");
    for var in ["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC", "RUSTDOC", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        c.env_remove(var);
    }
    let target_dir = std::env::current_dir().map(|d| d.join("target/fuzz")).unwrap_or_else(|_| "target/fuzz".into());
    // The bundled SQLite's C globals trip ASan's one-definition-rule check at start-up (the
    // library is linked once; the report is a false positive), so that check is off.
    c.env("ASAN_OPTIONS", "detect_odr_violation=0");
    c.args(["+nightly", "fuzz", sub, "--fuzz-dir", "fuzz", "--sanitizer", sanitizer])
        .arg("--target-dir")
        .arg(target_dir);
    c
}

fn check_tools() -> Result<()> {
    let ok = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .env_remove("RUSTUP_TOOLCHAIN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok(&["+nightly", "--version"]) {
        bail!("the nightly toolchain is missing: rustup toolchain install nightly");
    }
    if !ok(&["+nightly", "fuzz", "--version"]) {
        bail!("cargo-fuzz is missing: cargo install cargo-fuzz");
    }
    Ok(())
}

/// Runs one target for the budget, echoing libFuzzer's output, and collects its figures. A
/// crash input is copied into [`regressions`].
fn run_target(target: &str, corpus: &Path, seeds: &Path, args: &FuzzArgs) -> Result<Figures> {
    let artifacts = PathBuf::from("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    let before: Vec<PathBuf> = list(&artifacts);
    let mut child = cargo_fuzz("run", &args.sanitizer)
        .arg(target)
        .arg(corpus)
        .arg(seeds)
        .arg("--")
        .arg(format!("-max_total_time={}", args.seconds))
        .args(["-print_final_stats=1", "-timeout=20", "-rss_limit_mb=2048"])
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stderr(Stdio::piped())
        .spawn()
        .context("running cargo +nightly fuzz run")?;
    let mut f = Figures::default();
    let stderr = child.stderr.take().context("libFuzzer's stderr")?;
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        parse_line(&line, &mut f);
        // The periodic status lines are many; the rest (errors, stack traces) matter.
        if !(line.contains("pulse") || line.starts_with('#') && line.contains("NEW")) {
            eprintln!("{line}");
        }
    }
    let status = child.wait()?;
    let new: Vec<PathBuf> = list(&artifacts).into_iter().filter(|p| !before.contains(p)).collect();
    if let Some(input) = new.first() {
        let keep = regressions(target);
        std::fs::create_dir_all(&keep)?;
        let to = keep.join(input.file_name().context("artifact name")?);
        std::fs::copy(input, &to).with_context(|| format!("keeping {}", input.display()))?;
        f.crash = Some(to);
    } else if !status.success() {
        bail!("fuzzing {target} failed without a crash input (exit {status}); see the output above");
    }
    Ok(f)
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// Reads libFuzzer's `#N ... cov: C ft: F corp: K/..` status lines and `stat::` final stats.
fn parse_line(line: &str, f: &mut Figures) {
    let field = |name: &str| -> Option<u64> {
        let rest = &line[line.find(name)? + name.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).find(|s| !s.is_empty())?.parse().ok()
    };
    if line.starts_with('#') && line.contains("cov: ") {
        f.cov = field("cov: ").unwrap_or(f.cov).max(f.cov);
        f.ft = field("ft: ").unwrap_or(f.ft).max(f.ft);
        f.corpus = field("corp: ").unwrap_or(f.corpus);
        f.executions = field("#").unwrap_or(f.executions).max(f.executions);
    }
    if let Some(n) = line.strip_prefix("stat::number_of_executed_units:").and_then(|v| v.trim().parse().ok()) {
        f.executions = n;
    }
    if let Some(n) = line.strip_prefix("stat::average_exec_per_sec:").and_then(|v| v.trim().parse().ok()) {
        f.exec_per_s = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_status_and_final_stats() {
        let mut f = Figures::default();
        parse_line("#4096\tpulse  cov: 1532 ft: 4410 corp: 88/612Kb lim: 4096 exec/s: 2048 rss: 61Mb", &mut f);
        parse_line("#9000\tDONE   cov: 1540 ft: 4500 corp: 90/620Kb lim: 4096 exec/s: 300 rss: 62Mb", &mut f);
        parse_line("stat::number_of_executed_units: 9123", &mut f);
        parse_line("stat::average_exec_per_sec:     301", &mut f);
        assert_eq!((f.executions, f.exec_per_s, f.cov, f.ft, f.corpus), (9123, 301, 1540, 4500, 90));
    }
}
