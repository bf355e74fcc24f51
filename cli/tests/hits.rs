//! `drumsort hits` end to end on a drum track the test synthesises (the demo drums at known
//! times). Class names are never asserted: the shipped model may be a placeholder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use drumsort_core::synth::Demo;
use midly::{MidiMessage, Smf, Timing, TrackEventKind};

const SR: u32 = 44_100;

fn drumsort() -> Command {
    Command::new(env!("CARGO_BIN_EXE_drumsort"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drumsort-hits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A two-bar groove at 100 bpm with kick + hat and snare + hat struck together, written as a
/// 16-bit WAV (stereo, to go through the decoder's downmix). Returns the distinct hit times.
fn write_track(path: &Path) -> Vec<f64> {
    write_noisy_track(path, None)
}

/// [`write_track`] with white noise at `noise_dbfs` RMS under it.
fn write_noisy_track(path: &Path, noise_dbfs: Option<f32>) -> Vec<f64> {
    let beat = 0.6;
    let mut events = Vec::new();
    for eighth in 0..16 {
        let t = 0.25 + eighth as f64 * beat / 2.0;
        events.push((t, Demo::ClosedHat, if eighth % 2 == 0 { 0.5 } else { 0.3 }));
        match eighth % 8 {
            0 | 5 => events.push((t, Demo::Kick, 0.8)),
            2 | 6 => events.push((t, Demo::Snare, 0.7)),
            _ => {}
        }
    }
    events.push((0.25 + 8.0 * beat, Demo::Crash, 0.4));
    events.push((0.25 + 8.5 * beat, Demo::Tom, 0.7));
    let mut x = vec![0.0f32; (SR as f64 * (0.25 + 10.0 * beat)) as usize];
    for (i, &(t, d, gain)) in events.iter().enumerate() {
        let mut s = d.render(SR, i as u64);
        // Fade the last quarter out, as sample makers do (a tail cut at -25 dB is a click).
        let n = s.len() / 4;
        let len = s.len();
        for (k, v) in s[len - n..].iter_mut().enumerate() {
            *v *= 0.5 + 0.5 * (std::f32::consts::PI * k as f32 / n as f32).cos();
        }
        let at = (t * f64::from(SR)).round() as usize;
        for (o, v) in x.iter_mut().skip(at).zip(s) {
            *o += gain * v;
        }
    }
    if let Some(db) = noise_dbfs {
        let hiss = drumsort_core::synth::white_noise(x.len(), db, 7);
        for (v, n) in x.iter_mut().zip(hiss) {
            *v += n;
        }
    }
    let spec =
        hound::WavSpec { channels: 2, sample_rate: SR, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for v in &x {
        let s = (v.clamp(-1.0, 1.0) * 32767.0) as i16;
        w.write_sample(s).unwrap();
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    let times: BTreeSet<u64> = events.iter().map(|e| (e.0 * 1e6).round() as u64).collect();
    times.into_iter().map(|t| t as f64 / 1e6).collect()
}

fn run(args: &[&str]) -> Output {
    let out = drumsort().args(args).output().unwrap();
    assert!(out.status.success(), "drumsort {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Every time in `found` is within `tol_s` of a distinct time in `truth`, and all are matched.
fn assert_times_match(found: &[f64], truth: &[f64], tol_s: f64) {
    assert_eq!(found.len(), truth.len(), "found {found:?}\ntruth {truth:?}");
    for (f, t) in found.iter().zip(truth) {
        assert!((f - t).abs() <= tol_s, "hit at {f} s, expected {t} s\nfound {found:?}");
    }
}

#[test]
fn csv_has_one_row_per_class_at_the_hit_times() {
    let dir = temp_dir("csv");
    let wav = dir.join("groove.wav");
    let truth = write_track(&wav);
    for block in ["64", "512", "4096"] {
        let out = run(&["hits", wav.to_str().unwrap(), "--block", block]);
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("time_s,class,velocity,confidence"));
        let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
        assert!(rows.len() >= truth.len(), "block {block}: {} rows for {} hits", rows.len(), truth.len());
        for r in &rows {
            assert_eq!(r.len(), 4, "{r:?}");
            assert!(r[0].parse::<f64>().is_ok(), "{r:?}");
            assert!(r[1].parse::<drumsort_core::DrumClass>().is_ok_and(|c| c.is_drum()), "{r:?}");
            assert!((1..=127).contains(&r[2].parse::<u8>().unwrap()), "{r:?}");
            assert!((0.0..=1.0).contains(&r[3].parse::<f32>().unwrap()), "{r:?}");
        }
        let times = csv_times(&out);
        assert!(times.windows(2).all(|w| w[0] < w[1]), "rows in time order, a hit's classes together");
        assert_times_match(&times, &truth, 0.010);
    }
}

#[test]
fn json_holds_the_same_rows() {
    let dir = temp_dir("json");
    let wav = dir.join("groove.wav");
    let truth = write_track(&wav);
    let out_path = dir.join("hits.json");
    run(&[
        "hits",
        wav.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
        "--lookahead-ms",
        "30",
        "--sensitivity",
        "0.5",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let rows = json.as_array().expect("a JSON array");
    let mut times: Vec<f64> = rows.iter().map(|r| r["time_s"].as_f64().unwrap()).collect();
    times.dedup();
    assert_times_match(&times, &truth, 0.010);
    assert!(rows.iter().all(|r| r["class"].is_string() && r["velocity"].is_u64() && r["confidence"].is_f64()));
}

#[test]
fn midi_file_has_drum_notes_on_channel_ten_at_the_hit_ticks() {
    let dir = temp_dir("mid");
    let wav = dir.join("groove.wav");
    let truth = write_track(&wav);
    let mid = dir.join("groove.mid");
    run(&["hits", wav.to_str().unwrap(), "--out", mid.to_str().unwrap()]);
    let bytes = std::fs::read(&mid).unwrap();
    let smf = Smf::parse(&bytes).expect("a valid standard MIDI file");
    assert!(matches!(smf.header.format, midly::Format::SingleTrack));
    assert_eq!(smf.header.timing, Timing::Metrical(480.into()));
    let mut tick = 0u64;
    let mut on_ticks: Vec<u64> = Vec::new();
    let mut keys = BTreeSet::new();
    for e in &smf.tracks[0] {
        tick += u64::from(e.delta.as_int());
        if let TrackEventKind::Midi { channel, message } = e.kind {
            assert_eq!(channel.as_int(), 9, "GM drums are on channel 10");
            if let MidiMessage::NoteOn { key, vel } = message {
                if vel.as_int() > 0 {
                    keys.insert(key.as_int());
                    if on_ticks.last() != Some(&tick) {
                        on_ticks.push(tick);
                    }
                }
            }
        }
    }
    // 120 bpm at 480 ticks per beat: 960 ticks per second.
    let times: Vec<f64> = on_ticks.iter().map(|&t| t as f64 / 960.0).collect();
    assert_times_match(&times, &truth, 0.010);
    let gm: BTreeSet<u8> = drumsort_core::DrumClass::DRUMS.iter().filter_map(|c| c.gm_note()).collect();
    assert!(keys.is_subset(&gm), "{keys:?}");
}

/// Distinct hit times of `drumsort hits` CSV output.
fn csv_times(out: &Output) -> Vec<f64> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut times: Vec<f64> = text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    // A hit's classes are rows with the same time.
    times.dedup();
    times
}

#[test]
fn a_gate_above_the_hiss_of_a_noisy_track_leaves_only_the_hits() {
    let dir = temp_dir("gate");
    let wav = dir.join("hiss.wav");
    let truth = write_noisy_track(&wav, Some(-40.0));
    let ungated = csv_times(&run(&["hits", wav.to_str().unwrap()]));
    assert!(ungated.len() > truth.len(), "the hiss makes false hits at the default gate: {ungated:?}");
    let gated = csv_times(&run(&["hits", wav.to_str().unwrap(), "--gate-db", "-30"]));
    assert_times_match(&gated, &truth, 0.010);
}

#[test]
fn bad_options_are_refused() {
    let dir = temp_dir("bad");
    let wav = dir.join("groove.wav");
    write_track(&wav);
    let out = drumsort().args(["hits", wav.to_str().unwrap(), "--lookahead-ms", "5"]).output().unwrap();
    assert!(!out.status.success());
    let out = drumsort().args(["hits", wav.to_str().unwrap(), "--gate-db", "3"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("dBFS"));
    let out = drumsort().args(["hits", wav.to_str().unwrap(), "--format", "mid"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    let out = drumsort().args(["hits", dir.join("missing.wav").to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn the_built_in_model_is_the_hit_model_not_the_one_shot_classifier() {
    let dir = temp_dir("model");
    let wav = dir.join("groove.wav");
    write_track(&wav);
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let hits = |model: Option<&str>| {
        let mut args = vec!["hits".to_string(), wav.to_str().unwrap().to_string()];
        if let Some(m) = model {
            args.extend(["--model".to_string(), assets.join(m).to_str().unwrap().to_string()]);
        }
        String::from_utf8(run(&args.iter().map(String::as_str).collect::<Vec<_>>()).stdout).unwrap()
    };
    let built_in = hits(None);
    assert_eq!(built_in, hits(Some("hit-model")), "the embedded weights are assets/hit-model/");
    assert_ne!(built_in, hits(Some("model")), "the one-shot classifier scores these hits differently");
}
