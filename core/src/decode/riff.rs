//! The lenient WAV chunk walker: a second chance for WAVs whose header symphonia's strict reader
//! rejects (odd `fmt ` sizes, RIFF or data sizes that disagree with the file). Only the header is
//! rebuilt; the audio data is still read from the original source.

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

/// Chunks walked looking for `fmt ` and `data` before giving up on a WAV.
const MAX_RIFF_CHUNKS: usize = 1024;

/// Re-reads a WAV whose header symphonia's strict reader rejects: walks the chunks leniently
/// (any `fmt ` size, RIFF and data sizes that disagree with the file), and if it finds integer
/// or float PCM, presents the data behind a canonical 44/46-byte header. Only the header is
/// rewritten; the data is read from the original source, so this stays cheap for huge files.
pub(super) fn lenient_wav(mut src: Box<dyn MediaSource>) -> Option<Box<dyn MediaSource>> {
    let file_len = src.byte_len()?;
    let (fmt, data) = walk(src.as_mut(), file_len);
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

/// The first `fmt ` chunk (up to 64 bytes of it) and the data chunk's offset and length, walking
/// the chunks leniently: any `fmt ` size, and a zero or oversized data length (streamed or cut-off
/// files) meaning "to the end".
fn walk(src: &mut dyn MediaSource, file_len: u64) -> (Option<Vec<u8>>, Option<(u64, u64)>) {
    let (mut fmt, mut data) = (None::<Vec<u8>>, None::<(u64, u64)>);
    for_each_chunk(src, file_len, false, |tag, body, len, src| {
        match &tag {
            b"fmt " if fmt.is_none() => {
                // A cut-off file may end inside the chunk: take what is there.
                let mut b = vec![0u8; len.min(64).min(file_len - body) as usize];
                if src.read_exact(&mut b).is_err() {
                    return true;
                }
                fmt = Some(b);
            }
            b"data" if data.is_none() => {
                data = Some((body, if len == 0 || len > file_len - body { file_len - body } else { len }))
            }
            _ => {}
        }
        fmt.is_some() && data.is_some()
    });
    (fmt, data)
}

/// Walks the chunks of a RIFF file (little-endian sizes) or an IFF/AIFF one (big-endian) from
/// byte 12, calling `visit(tag, body offset, length, src)` with `src` at the chunk's body, until it
/// returns `true`, the file ends, a read fails or [`MAX_RIFF_CHUNKS`] were seen.
fn for_each_chunk(
    src: &mut dyn MediaSource,
    file_len: u64,
    big_endian: bool,
    mut visit: impl FnMut([u8; 4], u64, u64, &mut dyn MediaSource) -> bool,
) {
    let mut pos = 12u64;
    for _ in 0..MAX_RIFF_CHUNKS {
        if pos.saturating_add(8) > file_len {
            return;
        }
        let mut hdr = [0u8; 8];
        if src.seek(SeekFrom::Start(pos)).is_err() || src.read_exact(&mut hdr).is_err() {
            return;
        }
        let size = [hdr[4], hdr[5], hdr[6], hdr[7]];
        let len = u64::from(if big_endian { u32::from_be_bytes(size) } else { u32::from_le_bytes(size) });
        let body = pos + 8;
        if visit([hdr[0], hdr[1], hdr[2], hdr[3]], body, len, src) {
            return;
        }
        pos = body + len + (len & 1);
    }
}

/// Why a WAV's `fmt ` chunk cannot be decoded, when symphonia's reader (0.6) would panic on it
/// instead of saying so (debug builds; release builds go on with wrong numbers). Both found by the
/// fuzz smoke test (tests/tests/fuzz_smoke.rs), inputs kept in core/tests/fuzz_regressions/decode_wav:
/// - it multiplies the channel count by the bytes per sample in 16 bits: 65535 channels of 16 bits
///   overflow;
/// - for WAVE_FORMAT_EXTENSIBLE it pads a channel mask with fewer bits set than channels by
///   shifting ones in above its highest bit, which overflows when more than 31 are missing or the
///   mask's top bit is already set.
pub(super) fn impossible_format(mut src: Box<dyn MediaSource>) -> Option<String> {
    let file_len = src.byte_len()?;
    let fmt = walk(src.as_mut(), file_len).0?;
    let u16_at = |i: usize| Some(u16::from_le_bytes([*fmt.get(i)?, *fmt.get(i + 1)?]));
    let (tag, channels, bits) = (u16_at(0)?, u16_at(2)?, u16_at(14)?);
    if u32::from(channels) * u32::from(bits.div_ceil(8)) > u32::from(u16::MAX) {
        return Some(format!("wav header claims {channels} channels of {bits}-bit samples"));
    }
    if tag == 0xFFFE {
        let mask = u32::from(u16_at(20)?) | u32::from(u16_at(22)?) << 16;
        let missing = i64::from(channels) - i64::from(mask.count_ones());
        if missing > 0 && (missing >= 32 || (!mask).leading_ones() == 0) {
            return Some(format!("wav channel mask {mask:#010x} cannot place {channels} channels"));
        }
    }
    None
}

/// Why an AIFF's `COMM` chunk cannot be decoded, when symphonia's reader (0.6) would overflow on
/// it instead of saying so: it multiplies the bytes per sample by the channel count in 16 bits
/// (found by the fuzz smoke test: 16 of 195,669 mutated AIFFs in a 15 s run).
pub(super) fn impossible_aiff_format(mut src: Box<dyn MediaSource>) -> Option<String> {
    let file_len = src.byte_len()?;
    let mut comm = None;
    for_each_chunk(src.as_mut(), file_len, true, |tag, _, _, src| {
        if &tag != b"COMM" {
            return false;
        }
        let mut c = [0u8; 8];
        comm = src.read_exact(&mut c).ok().map(|()| c);
        true
    });
    let comm = comm?;
    let channels = u16::from_be_bytes([comm[0], comm[1]]);
    let bits = u16::from_be_bytes([comm[6], comm[7]]);
    (u32::from(bits / 8) * u32::from(channels) > u32::from(u16::MAX))
        .then(|| format!("aiff header claims {channels} channels of {bits}-bit samples"))
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
