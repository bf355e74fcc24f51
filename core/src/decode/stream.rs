//! One pass over a symphonia stream: probe the container, check the header, decode packets until
//! the analysed region is in hand (or the stream ends or fails), and build the result. Every loop
//! is bounded and every failure is classified into a [`DecodeError`].

use std::io;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::region::Region;
use super::{AudioInfo, DecodeError, DecodeOptions, DecodeWarning, Decoded};

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

/// Why the packet loop ended: the region (and margin) is decoded, the stream ended normally,
/// at an unexpected end of file (truncated data), or at another error.
enum End {
    Enough,
    Finished,
    Eof,
    Error(String),
}

/// Probes, decodes packets until enough audio is in hand, and builds the result.
pub(super) fn decode_source(
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
        Some(r) if r > MAX_RATE => {
            return Err(DecodeError::Unsupported(format!("sample rate {r} Hz is above 768 kHz")))
        }
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
