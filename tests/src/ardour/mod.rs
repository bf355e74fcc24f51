//! Ardour 7 as a test host for the built plugin: a session that `ardour7-lua` (Ardour's
//! `luasession`) builds on the Dummy backend, `ardour7-export` renders, and `luasession` reloads
//! and rolls in real time. The Lua scripts are in `tests/ardour/`.
//!
//! What the scripts cannot do, this module does: Lua cannot import audio, so the drum pattern's
//! two mono sources, their region, the playlist's region and the session range are written into
//! the saved `.ardour` XML ([`add_drum_region`]).
//!
//! Every Ardour process gets a scratch home ([`Env`]): `~/.vst3/Drumsort.vst3` (the cdylib of
//! `clap_host::plugin_library`), Ardour's configuration and scan cache, the test's Lua DSP
//! script, a scratch library index for the plugin (`DRUMSORT_DB`), and its own
//! `ARDOUR_DATA_PATH`: Ardour's data folder without `patchfiles/`. With the MIDNAM patch files
//! there, about one export in four was measured to crash in teardown (heap corruption in Ardour's
//! MIDNAM loader thread, which the session tools start and never need); without them no run of
//! these tests has crashed. A run killed by a signal is still retried once ([`run`]).
//!
//! Needs Debian's `ardour` package (7.x), and fails saying how to install it when it is missing.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The session's sample rate.
pub const SAMPLE_RATE: u32 = 48_000;
/// The snapshot with "notes to clicks" after Drumsort (see `tests/ardour/build_session.lua`).
pub const NOTES_SNAPSHOT: &str = "notes";

const INSTALL: &str = "apt-get install --no-install-recommends ardour";

/// The folder of the Lua scripts, `tests/ardour/`.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ardour")
}

// ---------------------------------------------------------------------------------------------
// The programs and their environment
// ---------------------------------------------------------------------------------------------

/// Ardour 7's library folder and the two programs the tests run.
#[derive(Debug, Clone)]
pub struct Ardour {
    /// `/usr/lib/ardour7`: libraries, backends, plugin scanners.
    pub lib: PathBuf,
    /// The Lua session interpreter `ardour7-lua` runs.
    pub luasession: PathBuf,
    /// The exporter `ardour7-export` runs.
    pub export: PathBuf,
    /// `/usr/share/ardour7`.
    pub data: PathBuf,
}

impl Ardour {
    /// Finds Debian's Ardour 7.
    ///
    /// # Panics
    ///
    /// If it is not installed, saying how to install it.
    pub fn find() -> Self {
        let ardour = Self {
            lib: PathBuf::from("/usr/lib/ardour7"),
            luasession: PathBuf::from("/usr/lib/ardour7/luasession"),
            export: PathBuf::from("/usr/lib/ardour7/utils/ardour7-export"),
            data: PathBuf::from("/usr/share/ardour7"),
        };
        for path in [&ardour.luasession, &ardour.export, &ardour.lib.join("ardour-vst3-scanner")] {
            assert!(
                path.is_file(),
                "{} is missing: these tests run Ardour 7 (ardour7-lua, ardour7-export); install it with `{INSTALL}`",
                path.display()
            );
        }
        assert!(ardour.data.is_dir(), "{} is missing: install Ardour with `{INSTALL}`", ardour.data.display());
        ardour
    }
}

/// A scratch home for Ardour processes: see the module docs.
#[derive(Debug, Clone)]
pub struct Env {
    pub ardour: Ardour,
    /// `$HOME`.
    pub home: PathBuf,
    /// `$ARDOUR_DATA_PATH`.
    pub data: PathBuf,
    /// `$DRUMSORT_DB`.
    pub index: PathBuf,
}

impl Env {
    /// Lays out a fresh home under `dir` with the plugin library `plugin` bundled as
    /// `~/.vst3/Drumsort.vst3` and the tests' Lua DSP script in Ardour's script folder.
    pub fn new(ardour: Ardour, dir: &Path, plugin: &Path) -> Self {
        let _ = std::fs::remove_dir_all(dir);
        let home = dir.join("home");
        let contents = home.join(format!(".vst3/Drumsort.vst3/Contents/{}-linux", std::env::consts::ARCH));
        std::fs::create_dir_all(&contents).expect("cannot create the VST3 bundle");
        let library = contents.join("Drumsort.so");
        std::fs::copy(plugin, &library).expect("cannot copy the plugin library into ~/.vst3");
        // Ardour trusts its scan cache only if it is strictly newer than the library, in whole
        // seconds: date the library back so the scan below, in the same second, counts.
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&library)
            .and_then(|file| file.set_modified(an_hour_ago))
            .expect("cannot date the plugin library back");
        let scripts = home.join(".config/ardour7/scripts");
        std::fs::create_dir_all(&scripts).expect("cannot create Ardour's script folder");
        std::fs::copy(scripts_dir().join("notes_to_clicks.lua"), scripts.join("drumsort_test_notes_to_clicks.lua"))
            .expect("cannot install the notes-to-clicks Lua DSP script");

        // Ardour's data folder, every entry linked but `patchfiles/` (see the module docs).
        let data = dir.join("ardour-data");
        std::fs::create_dir_all(&data).expect("cannot create the Ardour data folder");
        for entry in std::fs::read_dir(&ardour.data).expect("cannot list Ardour's data folder") {
            let entry = entry.expect("cannot list Ardour's data folder");
            if entry.file_name() != "patchfiles" {
                std::os::unix::fs::symlink(entry.path(), data.join(entry.file_name()))
                    .expect("cannot link into the Ardour data folder");
            }
        }
        let env = Self { ardour, home, data, index: dir.join("drumsort-index.sqlite") };

        // The session tools only read Ardour's plugin cache (`PluginManager::refresh(true)` when
        // the engine starts): scan the bundle into it first, by its absolute path, which names
        // the cache file.
        let bundle = std::path::absolute(env.home.join(".vst3/Drumsort.vst3")).expect("the bundle's absolute path");
        let scan = run(
            || {
                let mut command = env.command(&env.ardour.lib.join("ardour-vst3-scanner"));
                command.arg("-f").arg(&bundle);
                command
            },
            || (),
        );
        assert!(
            scan.text.contains("Saved VST3 plugin cache"),
            "ardour-vst3-scanner cached no Drumsort:\n{}",
            scan.text
        );
        env
    }

    /// `program` with the environment Debian's wrapper scripts set, pointed at the scratch home.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("LD_LIBRARY_PATH", &self.ardour.lib)
            .env("ARDOUR_DATA_PATH", &self.data)
            .env("ARDOUR_CONFIG_PATH", "/etc/ardour7")
            .env("ARDOUR_DLL_PATH", &self.ardour.lib)
            .env("VAMP_PATH", self.ardour.lib.join("vamp"))
            .env("GTK_PATH", format!("/etc/ardour7:{}", self.ardour.lib.display()))
            .env("DRUMSORT_DB", &self.index)
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
        command
    }

    /// Runs `tests/ardour/<script>` in `ardour7-lua` with `args`; see [`run`].
    pub fn lua(&self, script: &str, args: &[&OsStr], prepare: impl FnMut()) -> Run {
        let path = scripts_dir().join(script);
        run(
            || {
                let mut command = self.command(&self.ardour.luasession);
                command.arg(&path).args(args);
                command
            },
            prepare,
        )
    }

    /// Exports the session range of `snapshot` in `session` through the master bus to `out`, as
    /// 32-bit float, with `ardour7-export`, and reads it back.
    ///
    /// # Panics
    ///
    /// If the export fails or writes no file.
    pub fn export(&self, session: &Path, snapshot: &str, out: &Path) -> [Vec<f32>; 2] {
        let result = run(
            || {
                let mut command = self.command(&self.ardour.export);
                command.args(["-b", "float", "-o"]).arg(out).arg(session).arg(snapshot);
                command
            },
            || {
                let _ = std::fs::remove_file(out);
            },
        );
        assert!(out.is_file(), "ardour7-export wrote no {}:\n{}", out.display(), result.text);
        read_stereo(out)
    }
}

/// What an Ardour process printed, and its `DRUMSORT key=value` lines.
#[derive(Debug, Clone)]
pub struct Run {
    pub text: String,
    pub values: BTreeMap<String, Vec<String>>,
}

impl Run {
    /// The values printed as `DRUMSORT key=value`, in order.
    pub fn all(&self, key: &str) -> &[String] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }

    /// The one value printed for `key`.
    ///
    /// # Panics
    ///
    /// If the script printed none.
    pub fn value(&self, key: &str) -> &str {
        self.all(key).last().unwrap_or_else(|| panic!("Ardour printed no {key}:\n{}", self.text))
    }
}

/// How long an Ardour process may run before it counts as hung (a run takes a few seconds).
const HUNG: Duration = Duration::from_secs(300);

/// Runs `make()`, after `prepare()`, and checks that it exited with 0. A run killed by a signal
/// (the teardown crash above, should it come back) is retried once, after `prepare()` again.
///
/// # Panics
///
/// If it fails, is killed twice, or hangs, with everything it printed.
pub fn run(mut make: impl FnMut() -> Command, mut prepare: impl FnMut()) -> Run {
    let mut first_crash = None;
    loop {
        prepare();
        let mut command = make();
        let (status, text) = output_within(&mut command, HUNG);
        if status.success() {
            let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for line in text.lines() {
                if let Some((key, value)) = line.strip_prefix("DRUMSORT ").and_then(|rest| rest.split_once('=')) {
                    values.entry(key.to_owned()).or_default().push(value.to_owned());
                }
            }
            if let Some(crash) = first_crash {
                eprintln!("warning: {command:?} was killed once and passed when run again; the first run:\n{crash}");
            }
            return Run { text, values };
        }
        let crashed = status.signal().is_some();
        let report = format!("{command:?} failed ({status}):\n{text}");
        match first_crash {
            None if crashed => first_crash = Some(report),
            Some(first) => panic!("{report}\n\nIt had been killed once before:\n{first}"),
            None => panic!("{report}"),
        }
    }
}

/// Runs `command` to its end and returns its status and everything it printed (stdout, then
/// stderr).
///
/// # Panics
///
/// If it cannot start, or runs longer than `limit` (then it is killed).
fn output_within(command: &mut Command, limit: Duration) -> (ExitStatus, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("could not run {command:?}: {err}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for an Ardour process") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let text = format!("{}{}", stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
            panic!("{command:?} hung ({} s) and was killed:\n{text}", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = format!("{}{}", stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    (status, text)
}

mod pattern;
mod results;

pub use crate::write_mono;
pub use pattern::{read_stereo, Pattern};
pub use results::{base64_decode, clicks, exact_lag, Click, SavedPlugin};

/// The session the build script made, with the drum pattern on its drum track.
#[derive(Debug, Clone)]
pub struct DrumSession {
    /// The session folder.
    pub dir: PathBuf,
    /// The session's name, also its main snapshot's.
    pub name: String,
    pub pattern: Pattern,
    /// The latency Ardour read from the plugin when it was added.
    pub latency: u32,
    /// The engine's block size.
    pub block: u32,
    /// What the build script printed.
    pub build: Run,
}

impl DrumSession {
    /// Builds the session in `dir/<name>` with `tests/ardour/build_session.lua`, writes the drum
    /// pattern's sources and adds its region and session range to both snapshots.
    pub fn build(env: &Env, dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).expect("cannot create the session's parent folder");
        let session = dir.join(name);
        let build = env.lua("build_session.lua", &[session.as_os_str(), OsStr::new(name)], || {
            let _ = std::fs::remove_dir_all(&session);
        });
        assert_eq!(build.value("built"), name, "the build script did not finish:\n{}", build.text);
        let superclock: u64 = build.value("superclock_per_second").parse().expect("superclock rate");
        assert_eq!(
            superclock % u64::from(SAMPLE_RATE),
            0,
            "superclock {superclock} is not a whole number of ticks per sample"
        );
        let ticks_per_sample = superclock / u64::from(SAMPLE_RATE);
        let latency = build.value("latency").parse().expect("latency");
        let block = build.value("block").parse().expect("block size");
        let playlist = build.value("drums_playlist").to_owned();

        let pattern = Pattern::new();
        let audiofiles = session.join("interchange").join(name).join("audiofiles");
        let files = ["drum-pattern-L.wav", "drum-pattern-R.wav"];
        for (file, samples) in files.iter().zip(&pattern.audio) {
            write_mono(&audiofiles.join(file), samples);
        }
        let length = pattern.len() as u64 * ticks_per_sample;
        for snapshot in [name, NOTES_SNAPSHOT] {
            let path = session.join(format!("{snapshot}.ardour"));
            let xml =
                std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            let xml = add_drum_region(&xml, &playlist, files, length);
            std::fs::write(&path, xml).unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
        }
        Self { dir: session, name: name.to_owned(), pattern, latency, block, build }
    }

    /// A copy of the session folder in `dir/<name>`, for a run that may change it.
    pub fn copy_to(&self, dir: &Path) -> PathBuf {
        let to = dir.join(&self.name);
        let _ = std::fs::remove_dir_all(&to);
        copy_dir(&self.dir, &to);
        to
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|err| panic!("cannot create {}: {err}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|err| panic!("cannot list {}: {err}", from.display())) {
        let entry = entry.expect("cannot list a session folder");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("cannot stat a session file").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|err| panic!("cannot copy {}: {err}", entry.path().display()));
        }
    }
}

/// `xml` (a saved `.ardour` file) with two mono sources `files` (left, right) in the session's
/// audio folder, a whole-file region of them, the same region at the start of the audio playlist
/// `playlist` and a session range over it; `length` in superclock ticks. The new objects take IDs
/// from the session's `id-counter`, which is moved past them.
///
/// # Panics
///
/// If the file does not have the empty `<Sources/>`, `<Regions/>`, `<Locations/>` and playlist a
/// freshly built session has.
pub fn add_drum_region(xml: &str, playlist: &str, files: [&str; 2], length: u64) -> String {
    let counter_at = xml.find(" id-counter=\"").expect("the session has no id-counter") + " id-counter=\"".len();
    let counter_len = xml[counter_at..].find('"').expect("unterminated id-counter");
    let first: u64 = xml[counter_at..counter_at + counter_len].parse().expect("id-counter is not a number");
    let [left, right, whole, used, range] = [0, 1, 2, 3, 4].map(|i| first + i);
    let mut xml = format!("{}{}{}", &xml[..counter_at], first + 5, &xml[counter_at + counter_len..]);

    let region = |name: &str, id: u64, whole_file: u8| {
        format!(
            r#"<Region name="{name}" muted="0" opaque="1" locked="0" video-locked="0" automatic="0" whole-file="{whole_file}" import="1" external="0" sync-marked="0" left-of-split="0" right-of-split="0" hidden="0" position-locked="0" valid-transients="0" start="a0" length="a{length}@a0" sync-position="a0" ancestral-start="a0" ancestral-length="a0@a0" stretch="1" shift="1" layering-index="0" tags="" contents="0" envelope-active="0" default-fade-in="0" default-fade-out="0" fade-in-active="0" fade-out-active="0" scale-amplitude="1" id="{id}" type="audio" first-edit="nothing" source-0="{left}" source-1="{right}" master-source-0="{left}" master-source-1="{right}" channels="2"/>"#
        )
    };
    let source = |name: &str, id: u64| {
        format!(
            r#"<Source name="{name}" take-id="" type="audio" flags="" id="{id}" timestamp="0" natural-position="a0" captured-for="" channel="0" origin="" gain="1"/>"#
        )
    };
    let replace_once = |xml: &mut String, from: &str, to: &str| {
        assert_eq!(xml.matches(from).count(), 1, "expected one {from} in the saved session");
        *xml = xml.replacen(from, to, 1);
    };
    replace_once(
        &mut xml,
        "<Sources/>",
        &format!("<Sources>\n    {}\n    {}\n  </Sources>", source(files[0], left), source(files[1], right)),
    );
    replace_once(&mut xml, "<Regions/>", &format!("<Regions>\n    {}\n  </Regions>", region("drum-pattern", whole, 1)));
    replace_once(
        &mut xml,
        "<Locations/>",
        &format!(
            r#"<Locations>
    <Location id="{range}" name="session" start="a0" end="a{length}" flags="IsSessionRange" locked="0" timestamp="0" cue="0"/>
  </Locations>"#
        ),
    );
    // The track's (empty) playlist: `<Playlist id=".." name="Drums" type="audio" .../>`.
    let start = xml
        .match_indices("<Playlist ")
        .map(|(i, _)| i)
        .find(|&i| {
            let tag = &xml[i..i + xml[i..].find('>').unwrap_or(0)];
            tag.contains(&format!(" name=\"{playlist}\"")) && tag.contains(" type=\"audio\"")
        })
        .unwrap_or_else(|| panic!("the saved session has no audio playlist {playlist:?}"));
    let end = start + xml[start..].find('>').expect("unterminated playlist tag");
    assert!(xml[..end].ends_with('/'), "the playlist {playlist:?} is not empty in the saved session");
    let tag = xml[start..end - 1].trim_end().to_owned();
    xml.replace_range(start..=end, &format!("{tag}>\n      {}\n    </Playlist>", region("drum-pattern.1", used, 0)));
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_drum_region_fills_an_empty_session() {
        let xml = r#"<Session version="7002" name="s" sample-rate="48000" id-counter="119" name-counter="1">
  <Sources/>
  <Regions/>
  <Locations/>
  <Playlists>
    <Playlist id="7" name="Drums" type="audio" orig-track-id="3" pgroup-id="" shared-with-ids="" frozen="0" combine-ops="0"/>
  </Playlists>
</Session>"#;
        let out = add_drum_region(xml, "Drums", ["l.wav", "r.wav"], 5880);
        assert!(out.contains(r#"id-counter="124""#));
        assert!(out.contains(r#"<Source name="l.wav" take-id="" type="audio" flags="" id="119""#));
        assert!(out.contains(r#"source-0="119" source-1="120""#));
        assert!(out.contains(r#"end="a5880" flags="IsSessionRange""#));
        assert!(out.contains("combine-ops=\"0\">\n      <Region name=\"drum-pattern.1\""));
        assert!(out.contains("</Playlist>\n  </Playlists>"));
    }
}
