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

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;

use crate::resample::{output_len, resample};

/// File extensions the decoder is meant for (lower case; matching ignores case). Directory
/// walkers use this to pick files; the decoder itself probes by content.
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "aif", "aiff", "aifc", "flac", "mp3", "ogg", "oga"];

/// First onset: the first sample louder than -50 dBFS. Quiet enough to catch soft hits, loud
/// enough that dither and converter noise in leading silence do not count.
const ONSET_THRESHOLD: f32 = 0.003_162_3;

/// Below -80 dBFS peak in the whole search window a file is called silent; between that and
/// [`ONSET_THRESHOLD`] the onset is taken relative to the window's peak instead.
const SILENCE_PEAK: f32 = 1e-4;

/// For quiet files: the onset is the first sample within 20 dB of the search window's peak.
const RELATIVE_ONSET: f32 = 0.1;

/// Input frames decoded past the analysed region so the resampler's filter sees real signal at
/// the end of the clip (covers rubato's longest filter here, the 2048-frame FFT block).
const RESAMPLE_MARGIN: usize = 1024;

/// Header sanity limits: rates outside this are either corrupt or nothing a drum sample uses.
const MIN_RATE: u32 = 1_000;
const MAX_RATE: u32 = 768_000;

/// More channels than this is a corrupt header, and would make every packet enormous.
const MAX_CHANNELS: usize = 256;

/// Consecutive undecodable packets before the stream is given up on (MP3 and Vorbis decoders
/// recover from a few; random data keeps failing).
const MAX_BAD_PACKETS_IN_A_ROW: usize = 64;

/// Packets in a row that produce no audio (other tracks, empty packets) before giving up, so a
/// pathological stream cannot spin forever.
const MAX_IDLE_PACKETS: usize = 10_000;

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

/// Runs a decode with panics turned into [`DecodeError::Corrupt`]: a decoder bug on one file
/// must not take down a library scan.
fn guarded(f: impl FnOnce() -> Result<Decoded, DecodeError>) -> Result<Decoded, DecodeError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(DecodeError::Corrupt("decoder panicked".into())))
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

/// Our short container name for symphonia's format short name.
fn container_name(short_name: &'static str) -> &'static str {
    match short_name {
        "wave" => "wav",
        "isomp4" => "mp4",
        "matroska" => "mkv",
        other => other,
    }
}

/// Maps a failure to open the container. `magic` says whether the bytes announced audio.
fn open_error(err: SymphoniaError, magic: Option<&str>) -> DecodeError {
    match (err, magic) {
        (SymphoniaError::IoError(e), Some(m)) if e.kind() == io::ErrorKind::UnexpectedEof => {
            DecodeError::Corrupt(format!("{m} header is cut short"))
        }
        (SymphoniaError::IoError(e), _) if e.kind() != io::ErrorKind::UnexpectedEof => DecodeError::Io(e),
        // The signature matched but no reader could make sense of what follows.
        (SymphoniaError::Unsupported(msg), Some(m)) if msg.contains("no suitable format reader") => {
            DecodeError::Corrupt(format!("{m} signature, but no readable stream"))
        }
        (SymphoniaError::Unsupported(msg), Some(m)) => DecodeError::Unsupported(format!("{m}: {msg}")),
        (e, Some(m)) => DecodeError::Corrupt(format!("{m}: {e}")),
        (_, None) => DecodeError::NotAudio("no known audio format signature".into()),
    }
}

/// Whole-file duration the header claims, seconds.
fn header_duration(track: &Track, rate: u32) -> Option<f64> {
    if let Some(n) = track.num_frames {
        return Some(n as f64 / f64::from(rate));
    }
    let (tb, dur) = (track.time_base?, track.duration?);
    tb.calc_duration(dur).map(|t| t.as_secs_f64())
}

/// Chunks walked looking for `fmt ` and `data` before giving up on a WAV.
const MAX_RIFF_CHUNKS: usize = 1024;

/// Re-reads a WAV whose header symphonia's strict reader rejects: walks the chunks leniently
/// (any `fmt ` size, RIFF and data sizes that disagree with the file), and if it finds integer
/// or float PCM, presents the data behind a canonical 44/46-byte header. Only the header is
/// rewritten; the data is read from the original source, so this stays cheap for huge files.
fn lenient_wav(mut src: Box<dyn MediaSource>) -> Option<Box<dyn MediaSource>> {
    let file_len = src.byte_len()?;
    let (mut pos, mut fmt, mut data) = (12u64, None::<Vec<u8>>, None::<(u64, u64)>);
    for _ in 0..MAX_RIFF_CHUNKS {
        if pos.checked_add(8)? > file_len || (fmt.is_some() && data.is_some()) {
            break;
        }
        let mut hdr = [0u8; 8];
        src.seek(SeekFrom::Start(pos)).ok()?;
        src.read_exact(&mut hdr).ok()?;
        let len = u64::from(u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]));
        let body = pos + 8;
        match &hdr[..4] {
            b"fmt " => {
                let mut b = vec![0u8; len.min(64) as usize];
                src.read_exact(&mut b).ok()?;
                fmt = Some(b);
            }
            // A zero or oversized data length (streamed or cut-off files) means "to the end".
            b"data" => data = Some((body, if len == 0 || len > file_len - body { file_len - body } else { len })),
            _ => {}
        }
        pos = body + len + (len & 1);
    }
    let (fmt, (data_off, data_len)) = (fmt?, data?);
    let u16_at = |i: usize| Some(u16::from_le_bytes([*fmt.get(i)?, *fmt.get(i + 1)?]));
    let (mut tag, channels, block, bits) = (u16_at(0)?, u16_at(2)?, u16_at(12)?, u16_at(14)?);
    let rate = u32::from(u16_at(4)?) | u32::from(u16_at(6)?) << 16;
    if tag == 0xFFFE {
        tag = u16_at(24)?; // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the tag.
    }
    if channels == 0 || rate == 0 {
        return None;
    }
    let width = if block > 0 && block % channels == 0 { block / channels } else { bits.div_ceil(8) };
    if !matches!((tag, width), (1, 1..=4) | (3, 4 | 8)) {
        return None;
    }
    let frame = u16::try_from(u32::from(channels) * u32::from(width)).ok()?;
    let data_len = (data_len.min(u64::from(u32::MAX) - 64) / u64::from(frame)) * u64::from(frame);
    if data_len == 0 {
        return None;
    }
    // Canonical header: PCM fmt of 16 bytes, float fmt of 18 (with a zero cbSize).
    let cb_size: &[u8] = if tag == 1 { &[] } else { &[0, 0] };
    let fmt_len = 16 + cb_size.len() as u32;
    let head = [
        b"RIFF",
        &(4 + 8 + fmt_len + 8 + data_len as u32).to_le_bytes()[..],
        b"WAVEfmt ",
        &fmt_len.to_le_bytes(),
        &tag.to_le_bytes(),
        &channels.to_le_bytes(),
        &rate.to_le_bytes(),
        &rate.saturating_mul(u32::from(frame)).to_le_bytes(),
        &frame.to_le_bytes(),
        &(width * 8).to_le_bytes(),
        cb_size,
        b"data",
        &(data_len as u32).to_le_bytes(),
    ]
    .concat();
    let len = head.len() as u64 + data_len;
    Some(Box::new(Spliced { head, inner: src, data_off, len, pos: 0 }))
}

/// A rewritten header followed by a byte range of the original source, as one stream.
struct Spliced {
    head: Vec<u8>,
    inner: Box<dyn MediaSource>,
    /// Where the audio data starts in `inner`.
    data_off: u64,
    /// Total length: header plus data.
    len: u64,
    pos: u64,
}

impl Read for Spliced {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head_len = self.head.len() as u64;
        let want = buf.len().min(usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX));
        let n = if self.pos < head_len {
            let from = &self.head[self.pos as usize..];
            let n = want.min(from.len());
            buf[..n].copy_from_slice(&from[..n]);
            n
        } else {
            self.inner.seek(SeekFrom::Start(self.data_off + (self.pos - head_len)))?;
            self.inner.read(&mut buf[..want])?
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Spliced {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

impl MediaSource for Spliced {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// Why the packet loop ended: the region (and margin) is decoded, the stream ended normally,
/// at an unexpected end of file (truncated data), or at another error.
enum End {
    Enough,
    Finished,
    Eof,
    Error(String),
}

/// Probes, decodes packets until enough audio is in hand, and builds the result.
fn decode_source(
    source: Box<dyn MediaSource>,
    ext: Option<&str>,
    magic: Option<&'static str>,
    opts: &DecodeOptions,
) -> Result<Decoded, DecodeError> {
    check_options(opts)?;
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| open_error(e, magic))?;
    let container = container_name(format.format_info().short_name);

    let track = format.default_track(TrackType::Audio).ok_or_else(|| match magic {
        Some(m) => DecodeError::Unsupported(format!("{m} without an audio track")),
        None => DecodeError::NotAudio("no audio track".into()),
    })?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .cloned()
        .ok_or_else(|| DecodeError::Unsupported("audio track without codec parameters".into()))?;
    let rate = match params.sample_rate {
        None | Some(0) => return Err(DecodeError::Corrupt("header gives no sample rate".into())),
        Some(r) if r > MAX_RATE => return Err(DecodeError::Unsupported(format!("sample rate {r} Hz is above 768 kHz"))),
        Some(r) if r < MIN_RATE => return Err(DecodeError::Unsupported(format!("sample rate {r} Hz is below 1 kHz"))),
        Some(r) => r,
    };
    let header_channels = params.channels.as_ref().map(|c| c.count());
    match header_channels {
        Some(0) => return Err(DecodeError::Corrupt("header says 0 channels".into())),
        Some(c) if c > MAX_CHANNELS => return Err(DecodeError::Unsupported(format!("{c} channels"))),
        _ => {}
    }
    let header_dur = header_duration(track, rate);
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::Unsupported(format!("codec: {e}")))?;
    let codec = decoder.codec_info().short_name.to_string();
    // symphonia's WAV reader leaves bits unset for float PCM; the codec name has them.
    let float_bits = [("pcm_f32", 32), ("pcm_f64", 64)].iter().find(|(p, _)| codec.starts_with(p)).map(|f| f.1);
    let bits_per_sample = params.bits_per_sample.or(float_bits);

    let mut region = Region::new(rate, opts);
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut max_channels = header_channels.unwrap_or(0);
    let (mut bad_packets, mut bad_in_a_row, mut idle) = (0usize, 0usize, 0usize);
    let end = loop {
        if region.has_enough() {
            break End::Enough;
        }
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) | Err(SymphoniaError::ResetRequired) => break End::Finished,
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break End::Eof,
            Err(e) => break End::Error(e.to_string()),
        };
        if packet.track_id != track_id {
            idle += 1;
            if idle > MAX_IDLE_PACKETS {
                break End::Error("no audio in the stream's packets".into());
            }
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                bad_in_a_row = 0;
                let channels = buf.spec().channels().count();
                if buf.frames() == 0 || channels == 0 || channels > MAX_CHANNELS {
                    idle += 1;
                    if idle > MAX_IDLE_PACKETS {
                        break End::Error("decoder produces no audio".into());
                    }
                    continue;
                }
                idle = 0;
                max_channels = max_channels.max(channels);
                buf.copy_to_vecs_planar::<f32>(&mut planes);
                region.push(&planes);
            }
            Err(SymphoniaError::DecodeError(_)) | Err(SymphoniaError::IoError(_)) => {
                bad_packets += 1;
                bad_in_a_row += 1;
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                    break End::Error("too many undecodable packets in a row".into());
                }
            }
            Err(e) => break End::Error(e.to_string()),
        }
    };

    if region.decoded() == 0 {
        return Err(match (&end, magic) {
            (_, None) if bad_packets > 0 => DecodeError::NotAudio("no decodable audio".into()),
            (End::Error(msg), _) => DecodeError::Corrupt(msg.clone()),
            (End::Eof, _) => DecodeError::Corrupt("audio data is cut short before the first frame".into()),
            _ if bad_packets > 0 => DecodeError::Corrupt(format!("all {bad_packets} packets undecodable")),
            _ => DecodeError::Empty,
        });
    }

    let decoded_s = region.decoded() as f64 / f64::from(rate);
    let mut warnings = Vec::new();
    let reached_end = !matches!(end, End::Enough);
    match (&end, header_dur) {
        (End::Eof | End::Error(_), Some(expected_s)) if decoded_s + 0.001 < expected_s => {
            warnings.push(DecodeWarning::Truncated { expected_s, decoded_s });
        }
        // A clean end well short of the header: MP3 and Ogg readers stop quietly at a cut (the
        // slack covers MP3 lengths estimated from the bitrate).
        (End::Finished, Some(expected_s)) if decoded_s < 0.9 * expected_s - 0.01 => {
            warnings.push(DecodeWarning::Truncated { expected_s, decoded_s });
        }
        (End::Error(message), _) => warnings.push(DecodeWarning::StreamError { message: message.clone() }),
        _ => {}
    }
    if bad_packets > 0 {
        warnings.push(DecodeWarning::SkippedPackets { count: bad_packets });
    }
    let duration_s = if reached_end { Some(decoded_s) } else { header_dur };
    let max_out = (f64::from(opts.max_seconds) * f64::from(opts.target_rate)).round() as usize;
    let (samples, start, peak, rms) = region.finish(opts.target_rate, max_out, &mut warnings);
    let info = AudioInfo {
        container,
        codec,
        sample_rate: rate,
        channels: u16::try_from(max_channels).unwrap_or(u16::MAX),
        bits_per_sample,
        duration_s,
        onset_s: start as f64 / f64::from(rate),
        peak,
        rms,
    };
    Ok(Decoded { samples, sample_rate: opts.target_rate, info, warnings })
}

/// Rejects options that would make the decode meaningless or unbounded.
fn check_options(opts: &DecodeOptions) -> Result<(), DecodeError> {
    let bad = |what: &str| Err(DecodeError::Unsupported(format!("decode option {what}")));
    if !(MIN_RATE..=MAX_RATE).contains(&opts.target_rate) {
        return bad("target_rate out of range");
    }
    if !(opts.max_seconds.is_finite() && opts.max_seconds > 0.0 && opts.max_seconds <= 600.0) {
        return bad("max_seconds must be in (0, 600]");
    }
    if !(opts.pre_roll_s.is_finite() && (0.0..=10.0).contains(&opts.pre_roll_s)) {
        return bad("pre_roll_s must be in [0, 10]");
    }
    if !(opts.onset_search_s.is_finite() && (0.0..=600.0).contains(&opts.onset_search_s)) {
        return bad("onset_search_s must be in [0, 600]");
    }
    Ok(())
}

/// Decoded mono audio at the source rate, and the search for where the analysed region starts.
struct Region {
    rate: u32,
    /// Channel average of everything decoded so far.
    mono: Vec<f32>,
    /// NaN/Inf samples replaced so far.
    non_finite: usize,
    /// Frames in which the first onset is searched.
    search_len: usize,
    /// Frames kept before the onset.
    pre_roll: usize,
    /// Longest analysed region, frames.
    max_len: usize,
    /// Frames already scanned for the onset.
    scanned: usize,
    /// Index of the first onset once found.
    onset: Option<usize>,
    /// Set when the onset was not found above the absolute threshold.
    fallback: Option<DecodeWarning>,
}

impl Region {
    fn new(rate: u32, opts: &DecodeOptions) -> Self {
        let frames = |s: f32| (f64::from(s) * f64::from(rate)).round() as usize;
        Self {
            rate,
            mono: Vec::with_capacity(frames(opts.max_seconds) + RESAMPLE_MARGIN + 4096),
            non_finite: 0,
            search_len: frames(opts.onset_search_s),
            pre_roll: frames(opts.pre_roll_s),
            max_len: frames(opts.max_seconds).max(1),
            scanned: 0,
            onset: None,
            fallback: None,
        }
    }

    fn decoded(&self) -> usize {
        self.mono.len()
    }

    /// Appends one packet's planes (one `Vec` per channel, equal lengths) as their average.
    fn push(&mut self, planes: &[Vec<f32>]) {
        let Some(frames) = planes.first().map(Vec::len) else { return };
        let start = self.mono.len();
        self.mono.resize(start + frames, 0.0);
        let tail = &mut self.mono[start..];
        for plane in planes {
            for (m, &x) in tail.iter_mut().zip(plane) {
                if x.is_finite() {
                    *m += x;
                } else {
                    self.non_finite += 1;
                }
            }
        }
        let scale = 1.0 / planes.len() as f32;
        for m in tail.iter_mut() {
            *m *= scale;
            if !m.is_finite() {
                // Finite samples near f32::MAX can still sum to infinity.
                *m = 0.0;
                self.non_finite += 1;
            }
        }
        self.scan();
    }

    /// Looks for the first sample above the absolute threshold in the newly decoded part of the
    /// search window.
    fn scan(&mut self) {
        if self.onset.is_some() {
            return;
        }
        let end = self.mono.len().min(self.search_len);
        if let Some(i) = self.mono[self.scanned.min(end)..end].iter().position(|x| x.abs() > ONSET_THRESHOLD) {
            self.onset = Some(self.scanned + i);
        }
        self.scanned = end;
        if self.onset.is_none() && self.mono.len() >= self.search_len {
            self.resolve_fallback();
        }
    }

    /// No onset above -50 dBFS in the window: use one relative to the window's peak, or call the
    /// file silent and start at 0.
    fn resolve_fallback(&mut self) {
        if self.search_len == 0 {
            self.onset = Some(0); // searching was switched off
            return;
        }
        let window = &self.mono[..self.mono.len().min(self.search_len)];
        let peak = window.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if peak > SILENCE_PEAK {
            self.onset = window.iter().position(|x| x.abs() >= peak * RELATIVE_ONSET);
            self.fallback = Some(DecodeWarning::Quiet { peak_dbfs: 20.0 * peak.log10() });
        } else {
            self.onset = Some(0);
            self.fallback = Some(DecodeWarning::Silent);
        }
    }

    fn start(&self) -> usize {
        self.onset.map_or(0, |o| o.saturating_sub(self.pre_roll))
    }

    /// True once the analysed region and the resampler margin after it are decoded.
    fn has_enough(&self) -> bool {
        self.onset.is_some() && self.mono.len() >= self.start() + self.max_len + RESAMPLE_MARGIN
    }

    /// Cuts the analysed region, resamples it to `target_rate` (at most `max_out` samples) and
    /// measures it. Returns `(samples, start frame, peak, rms)`.
    fn finish(
        mut self,
        target_rate: u32,
        max_out: usize,
        warnings: &mut Vec<DecodeWarning>,
    ) -> (Vec<f32>, usize, f32, f32) {
        if self.onset.is_none() {
            // The stream ended inside the search window.
            self.resolve_fallback();
        }
        warnings.extend(self.fallback.take());
        if self.non_finite > 0 {
            warnings.push(DecodeWarning::NonFinite { count: self.non_finite });
        }
        let start = self.start().min(self.mono.len());
        let end = (start + self.max_len).min(self.mono.len());
        let region = &self.mono[start..end];
        let peak = region.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let energy: f64 = region.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        let rms = if region.is_empty() { 0.0 } else { (energy / region.len() as f64).sqrt() as f32 };
        // Resample with the margin after the region as filter context, then cut to length.
        let with_margin = &self.mono[start..(end + RESAMPLE_MARGIN).min(self.mono.len())];
        let mut samples = resample(with_margin, self.rate, target_rate);
        // Rounding at two rates could add a sample beyond max_seconds; the promise is "at most".
        samples.truncate(output_len(end - start, self.rate, target_rate).min(max_out));
        (samples, start, peak, rms)
    }
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
