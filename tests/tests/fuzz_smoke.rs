//! A short randomised run of every fuzz harness, so CI fuzzes on each push (issue 7) without the
//! nightly toolchain and the sanitizer build `cargo xtask fuzz` needs (about half an hour of this
//! 2-core machine from clean). Each target's seeds are mutated blindly (bit flips, interesting
//! values, insertions, deletions, truncation, splices; no coverage guidance) for a few seconds and
//! every mutant goes through the same harness the libFuzzer target runs.
//!
//! The seed is fixed (`DRUMSORT_FUZZ_SEED`, default 1), so a run is reproducible and a slower
//! machine tries a prefix of what a faster one tried; `DRUMSORT_FUZZ_SEED=time` explores new
//! inputs. `DRUMSORT_FUZZ_SECONDS` sets the budget per target (default 6). A failing input is
//! written to `target/fuzz-smoke/` and the test fails naming it; keep it under
//! `core/tests/fuzz_regressions/<target>/` (or the plugin's) once fixed.
//!
//! One kind of finding is counted, not failed: a panic inside symphonia that Drumsort's decoder
//! catches (the file is reported as corrupt and the scan goes on, by design). symphonia 0.6.1's
//! WAV reader has several integer overflows on lying headers that panic in debug builds; the two
//! found first are rejected before symphonia sees them (`core/src/decode/riff.rs`), the rest are
//! listed by this test with their inputs under `target/fuzz-smoke/caught/`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drumsort_core::synth::Demo;

/// SplitMix64: a seeded generator, enough for choosing mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: [u32; 8] = [0, 1, 0x7f, 0x80, 0xff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

/// One to four random edits of `input`, sometimes splicing in part of `other`.
fn mutate(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut x = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = x.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                x[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                x[i] = INTERESTING[rng.below(INTERESTING.len())] as u8;
            }
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                x[i..i + 4].copy_from_slice(&INTERESTING[rng.below(INTERESTING.len())].to_le_bytes());
            }
            3 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                x.splice(i..i, bytes);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                x.drain(i..i + n);
            }
            5 => x.truncate(rng.below(len + 1)),
            _ if !other.is_empty() => {
                let (i, j) = (rng.below(len + 1), rng.below(other.len()));
                let n = 1 + rng.below((other.len() - j).min(256));
                x.splice(i..i, other[j..j + n].iter().copied());
            }
            _ => {}
        }
    }
    x
}

fn seed() -> u64 {
    match std::env::var("DRUMSORT_FUZZ_SEED").ok().as_deref() {
        Some("time") => {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
        }
        Some(s) => s.parse().unwrap_or(1),
        None => 1,
    }
}

/// The message `drumsort_core::fuzz::decode` panics with when the decoder caught a panic.
fn is_caught_decoder_panic(payload: &(dyn std::any::Any + Send)) -> bool {
    let msg = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
    msg.is_some_and(|m| m.starts_with("the decoder panicked on this"))
}

fn budget() -> Duration {
    let secs = std::env::var("DRUMSORT_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(6.0f64);
    Duration::from_secs_f64(secs)
}

/// Mutates `seeds` for the budget and runs `harness` on each mutant; the pool grows with mutants
/// so later ones go further from the seeds.
fn smoke(target: &str, seeds: Vec<Vec<u8>>, harness: impl Fn(&[u8])) {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let seed = seed();
    let mut rng = Rng(seed);
    let mut pool = seeds;
    let (start, budget) = (Instant::now(), budget());
    let (mut runs, mut caught) = (0u64, 0u64);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-smoke");
    while start.elapsed() < budget {
        let a = rng.below(pool.len());
        let b = rng.below(pool.len());
        let input = mutate(&pool[a], &pool[b], &mut rng);
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| harness(&input))) {
            let caught_by_decoder = is_caught_decoder_panic(payload.as_ref());
            let dir = if caught_by_decoder { dir.join("caught") } else { dir.clone() };
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{target}-{seed}-{runs}.bin"));
            std::fs::write(&path, &input).unwrap();
            if !caught_by_decoder {
                panic!("{target}: input {} fails (DRUMSORT_FUZZ_SEED={seed})", path.display());
            }
            caught += 1;
        }
        runs += 1;
        if pool.len() < 256 && rng.below(8) == 0 {
            pool.push(input);
        }
    }
    println!(
        "{target}: {runs} inputs in {:.1} s, seed {seed}; {caught} decoder panics caught (inside symphonia)",
        start.elapsed().as_secs_f64()
    );
    assert!(runs > 0);
}

fn wav_bytes(samples: &[f32], rate: u32, bits: u16) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
    let scale = ((1i64 << (bits - 1)) - 1) as f32;
    for v in samples {
        w.write_sample((v.clamp(-1.0, 1.0) * scale) as i32).unwrap();
    }
    w.finalize().unwrap();
    cursor.into_inner()
}

fn fixtures(ext: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext || (ext == "aiff" && e == "aifc")))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    out.sort();
    out
}

#[test]
fn decoders() {
    let short = |d: Demo| d.render(22_050, 1)[..2205].to_vec();
    let wavs = vec![wav_bytes(&short(Demo::Snare), 22_050, 16), wav_bytes(&short(Demo::ClosedHat), 22_050, 24)];
    smoke("decode_wav", wavs, |b| drumsort_core::fuzz::decode("wav", b));
    for ext in ["aiff", "flac", "mp3", "ogg"] {
        smoke(&format!("decode_{ext}"), fixtures(ext), |b| drumsort_core::fuzz::decode(ext, b));
    }
}

#[test]
fn features() {
    let samples = |x: &[f32]| x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let seeds = vec![
        samples(&Demo::Kick.render(44_100, 2)[..4096]),
        samples(&[0.0, 1.0, -1.0, f32::MAX, f32::MIN_POSITIVE, 1e-40, 0.5, -0.25]),
    ];
    smoke("features", seeds, drumsort_core::fuzz::features);
}

#[test]
fn index() {
    let dir: PathBuf = std::env::temp_dir().join(format!("drumsort-fuzz-smoke-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("seed.sqlite");
    drop(drumsort_core::index::Index::open(&db).unwrap());
    let fresh = std::fs::read(&db).unwrap();
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    smoke("index", vec![fresh], |b| drumsort_core::fuzz::index(b, &work));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plugin_state() {
    use drumsort_plugin::testing::{plugin_state, saved_state, DrumsortParams};
    let blob = saved_state(&DrumsortParams::default());
    let json = blob[8..].to_vec();
    smoke("plugin_state", vec![blob, json], plugin_state);
}
