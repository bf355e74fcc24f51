//! Any audio file to mono `f32` at the model rate, starting at its first onset, plus the facts a
//! library view shows (format, rate, channels, duration, level).
//!
//! One entry point for everything that reads audio ([`decode_file`], and [`decode_bytes`] for
//! in-memory data and fuzzing). Formats come from symphonia (WAV, AIFF/AIFC, FLAC, MP3, Ogg Vorbis,
//! and whatever else its "all" feature enables), probed by content with the extension as a hint,
//! because sample packs are full of misnamed files.
//!
//! Cost is bounded by what the model looks at, not by the file: packets are decoded only until
//! the first onset plus [`DecodeOptions::max_seconds`] (plus a little resampler context) are in
//! hand, so a 10-minute or 1 GB file costs about what a one-shot does. A bad file is a value
//! ([`DecodeError`]), never a panic or a stall: symphonia errors are classified, absurd headers
//! rejected, loops bounded, and the whole decode runs under `catch_unwind` as a last resort.
//!
//! Here: the public types and entry points, and the retries around a failed decode. Submodules:
//! `stream` (one symphonia pass: probe, header checks, the bounded packet loop), `region` (downmix,
//! first-onset search, cutting and resampling the analysed region) and `riff` (the lenient WAV
//! chunk walker tried when symphonia rejects a WAV header).

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use symphonia::core::io::{MediaSource, ReadOnlySource};

mod region;
mod riff;
mod stream;

use riff::{impossible_aiff_format, impossible_format, lenient_wav};
use stream::decode_source;

/// File extensions the decoder is meant for (lower case; matching ignores case). Directory
/// walkers use this to pick files; the decoder itself probes by content.
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "aif", "aiff", "aifc", "flac", "mp3", "ogg", "oga"];

/// How to decode: the model's rate and how much of each file it looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    /// Output sample rate (the model's), Hz.
    pub target_rate: u32,
    /// Longest analysed region, seconds, counted from its start (`pre_roll_s` before the first
    /// onset); decoding stops once this much is in hand.
    pub max_seconds: f32,
    /// Kept before the first onset so the attack is not cut, seconds.
    pub pre_roll_s: f32,
    /// How far into the file to look for the first onset, seconds; files silent that long are
    /// returned from their start with [`DecodeWarning::Silent`].
    pub onset_search_s: f32,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { target_rate: 44_100, max_seconds: 1.5, pre_roll_s: 0.005, onset_search_s: 10.0 }
    }
}

/// Facts about the file, for the library view and for diagnosing odd results.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Container as found by content: "wav", "aiff", "flac", "mp3", "ogg", "caf", "mp4", "mkv", ...
    pub container: &'static str,
    /// Codec, symphonia's short name: "pcm_s16le", "pcm_s24be", "pcm_f32le", "flac", "mp3",
    /// "vorbis", ...
    pub codec: String,
    /// Sample rate of the file, Hz.
    pub sample_rate: u32,
    /// Channels in the file (the output is always their average).
    pub channels: u16,
    /// Bits per sample for PCM and FLAC (valid bits for WAVE_FORMAT_EXTENSIBLE); `None` for lossy.
    pub bits_per_sample: Option<u32>,
    /// Whole-file duration, seconds: the decoded length when decoding reached the end, otherwise
    /// the header's frame count when it has one.
    pub duration_s: Option<f64>,
    /// Where the analysed region starts in the file, seconds (pre-roll before the first onset).
    pub onset_s: f64,
    /// Peak |x| of the analysed region (mono, source rate), before any normalisation.
    pub peak: f32,
    /// RMS of the analysed region (mono, source rate), before any normalisation.
    pub rms: f32,
}

/// Something odd about a file that still decoded; shown next to the result, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeWarning {
    /// Nothing above -80 dBFS in the onset search window: the audio is returned from the start.
    Silent,
    /// Nothing above -50 dBFS in the search window (whose peak is `peak_dbfs`); the onset was
    /// taken relative to that peak.
    Quiet { peak_dbfs: f32 },
    /// `count` NaN or infinite samples (counted per channel) were replaced by 0.
    NonFinite { count: usize },
    /// The file ends (after `decoded_s` seconds) before the `expected_s` its header promises:
    /// a cut-off download or copy.
    Truncated { expected_s: f64, decoded_s: f64 },
    /// `count` undecodable packets were skipped (damaged MP3/Vorbis frames).
    SkippedPackets { count: usize },
    /// Reading stopped at an error (symphonia's `message`); the audio before it is returned.
    StreamError { message: String },
    /// A WAV header the strict reader rejects (odd `fmt ` size, wrong RIFF or data sizes) was
    /// read leniently.
    NonStandardHeader,
}

impl fmt::Display for DecodeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Silent => write!(f, "silent: no sound found where the onset was searched"),
            Self::Quiet { peak_dbfs } => write!(f, "very quiet (peak {peak_dbfs:.0} dBFS)"),
            Self::NonFinite { count } => write!(f, "{count} NaN/infinite samples replaced by silence"),
            Self::Truncated { expected_s, decoded_s } => {
                write!(f, "file is cut short: header says {expected_s:.3} s, only {decoded_s:.3} s present")
            }
            Self::SkippedPackets { count } => write!(f, "{count} damaged packets skipped"),
            Self::StreamError { message } => write!(f, "decoding stopped early: {message}"),
            Self::NonStandardHeader => write!(f, "non-standard WAV header, read leniently"),
        }
    }
}

/// A decoded file: what the model analyses, and what the library shows.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Mono (channel average) at `sample_rate`, from the analysed region's start, at most
    /// `max_seconds` long.
    pub samples: Vec<f32>,
    /// Rate of `samples`: [`DecodeOptions::target_rate`].
    pub sample_rate: u32,
    /// Facts about the source file.
    pub info: AudioInfo,
    /// Oddities that did not stop decoding.
    pub warnings: Vec<DecodeWarning>,
}

/// Why a file could not be decoded. Scans keep these as per-file results.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Recognised audio, but a codec, feature or parameter the decoder does not handle.
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    /// Not an audio file at all (text, image, random data).
    #[error("not an audio file: {0}")]
    NotAudio(String),
    /// Looks like audio but is damaged or has an impossible header.
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    /// Zero bytes, or a valid header with no audio frames.
    #[error("empty file: no audio")]
    Empty,
    /// The file could not be read (missing, permissions, a directory).
    #[error("cannot read file: {0}")]
    Io(#[from] io::Error),
}

impl DecodeError {
    /// Stable machine-readable kind for reports and JSON: "unsupported", "not_audio", "corrupt",
    /// "empty" or "io".
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "unsupported",
            Self::NotAudio(_) => "not_audio",
            Self::Corrupt(_) => "corrupt",
            Self::Empty => "empty",
            Self::Io(_) => "io",
        }
    }
}

/// True if `path` has one of [`AUDIO_EXTENSIONS`] in any case; directory walkers use it to pick
/// candidate files.
pub fn is_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// Decodes the file at `path` (see the module docs). Reads only the part of the file needed.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        let msg = format!("{} is a directory", path.display());
        return Err(DecodeError::Io(io::Error::new(io::ErrorKind::IsADirectory, msg)));
    }
    if meta.len() == 0 {
        return Err(DecodeError::Empty);
    }
    let mut head = Vec::with_capacity(12);
    File::open(path)?.take(12).read_to_end(&mut head)?;
    let ext = path.extension().and_then(|e| e.to_str());
    guarded(|| decode_input(&Input::File(path), ext, sniff(&head), opts))
}

/// Decodes an in-memory file; `ext_hint` is its extension if known. Same path as
/// [`decode_file`], used for data that never touched disk and for fuzzing.
pub fn decode_bytes(bytes: Vec<u8>, ext_hint: Option<&str>, opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let magic = sniff(&bytes[..bytes.len().min(12)]);
    guarded(|| decode_input(&Input::Bytes(Shared(bytes.into())), ext_hint, magic, opts))
}

/// Where a file's bytes come from; opened a second time when a WAV needs the lenient reader.
enum Input<'a> {
    File(&'a Path),
    Bytes(Shared),
}

/// In-memory bytes shared between openings without copying.
#[derive(Clone)]
struct Shared(Arc<[u8]>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Input<'_> {
    fn open(&self) -> io::Result<Box<dyn MediaSource>> {
        Ok(match self {
            Input::File(path) => Box::new(File::open(path)?),
            Input::Bytes(bytes) => Box::new(Cursor::new(bytes.clone())),
        })
    }
}

/// Decodes with symphonia, with two second chances that keep the first error if they fail too:
/// - a file that looks corrupt is read again as a plain forward-only stream: on a seekable file
///   symphonia's probe looks for tags at the end and its Ogg and MP3 readers scan there for the
///   duration, and on a cut-off file that read fails and takes the whole file down;
/// - a WAV it rejects goes through [`lenient_wav`].
fn decode_input(
    input: &Input<'_>,
    ext: Option<&str>,
    magic: Option<&'static str>,
    opts: &DecodeOptions,
) -> Result<Decoded, DecodeError> {
    let impossible = match magic {
        Some("wav") => impossible_format(input.open()?),
        Some("aiff") => impossible_aiff_format(input.open()?),
        _ => None,
    };
    if let Some(problem) = impossible {
        return Err(DecodeError::Corrupt(problem));
    }
    let mut result = decode_source(input.open()?, ext, magic, opts);
    if matches!(result, Err(DecodeError::Corrupt(_))) {
        if let Ok(d) = decode_source(Box::new(ReadOnlySource::new(input.open()?)), ext, magic, opts) {
            result = Ok(d);
        }
    }
    match result {
        Err(e) if magic == Some("wav") && !matches!(e, DecodeError::Io(_) | DecodeError::NotAudio(_)) => {
            let Some(repaired) = lenient_wav(input.open()?) else { return Err(e) };
            let mut d = decode_source(repaired, ext, magic, opts).map_err(|_| e)?;
            d.warnings.push(DecodeWarning::NonStandardHeader);
            Ok(d)
        }
        other => other,
    }
}

/// The message of the [`DecodeError::Corrupt`] a caught decoder panic becomes; the fuzz
/// regression tests look for it, since a caught panic is still a bug to fix.
pub(crate) const PANICKED: &str = "decoder panicked";

/// Runs a decode with panics turned into [`DecodeError::Corrupt`]: a decoder bug on one file
/// must not take down a library scan.
fn guarded(f: impl FnOnce() -> Result<Decoded, DecodeError>) -> Result<Decoded, DecodeError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(DecodeError::Corrupt(PANICKED.into())))
}

/// The container a file's first bytes announce, if any. Used to tell "not audio" (no known
/// signature) from "corrupt" (a known signature that symphonia cannot read).
fn sniff(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(usize, &[u8], &str)] = &[
        (8, b"WAVE", "wav"), // after RIFF/RIFX/RF64/BW64 and a size
        (8, b"AIFF", "aiff"),
        (8, b"AIFC", "aiff"),
        (0, b"fLaC", "flac"),
        (0, b"OggS", "ogg"),
        (0, b"ID3", "mp3"),
        (4, b"ftyp", "mp4"),
        (0, b"caff", "caf"),
        (0, b"\x1A\x45\xDF\xA3", "mkv"),
    ];
    let at = |i: usize, sig: &[u8]| head.get(i..i + sig.len()) == Some(sig);
    let mpeg_sync = head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0;
    SIGNATURES.iter().find(|(i, sig, _)| at(*i, sig)).map(|s| s.2).or(mpeg_sync.then_some("mp3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_knows_the_signatures() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Some("wav"));
        assert_eq!(sniff(b"FORM\0\0\0\0AIFC"), Some("aiff"));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some("flac"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("ogg"));
        assert_eq!(sniff(b"ID3\x04"), Some("mp3"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x00]), Some("mp3"));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI "), None);
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b""), None);
    }
}
