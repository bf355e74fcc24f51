//! Standard MIDI files of labelled hits: one track (format 0), drum notes on the General MIDI
//! percussion channel (channel 10), at a fixed tempo so seconds map exactly to ticks. Used by
//! `drumsort hits --format mid` and by the plugin's record/export.
//!
//! Written by hand (it is about 60 lines) rather than with a MIDI crate, so `drumsort-core` needs
//! no extra dependency; the tests read the output back with `midly`.

use crate::class::DrumClass;
use crate::hits::Hit;

/// How the file is laid out. The defaults give 960 ticks per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmfOptions {
    /// Ticks per quarter note.
    pub ppq: u16,
    /// Tempo written into the file, beats per minute. A DAW that adopts the file's tempo shows
    /// the hits at their real times; one that keeps its own tempo stretches them.
    pub bpm: f64,
    /// Zero-based MIDI channel: 9 is channel 10, the GM drum channel.
    pub channel: u8,
    /// Note length in ticks (`ppq / 8`: a 32nd note). A note is cut short if the same key
    /// sounds again before it ends.
    pub note_ticks: u32,
}

impl Default for SmfOptions {
    fn default() -> Self {
        Self { ppq: 480, bpm: 120.0, channel: 9, note_ticks: 60 }
    }
}

impl SmfOptions {
    /// The tick nearest to `seconds`.
    pub fn ticks(&self, seconds: f64) -> u64 {
        (seconds.max(0.0) * f64::from(self.ppq) * self.bpm / 60.0).round() as u64
    }

    /// Microseconds per quarter note, as the tempo meta event stores it.
    fn tempo_us(&self) -> u32 {
        (60_000_000.0 / self.bpm.max(1.0)).round().min(f64::from(0xFF_FFFF)) as u32
    }
}

/// One note to write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Note {
    /// Start, seconds from the beginning of the file.
    pub seconds: f64,
    /// MIDI key 0..=127.
    pub key: u8,
    /// MIDI velocity 1..=127.
    pub velocity: u8,
}

/// The notes of labelled hits: one per class of each hit, on `key_for(class)` (skipped when it
/// returns `None`), in time order. `sample_rate` is the rate the hits' samples count at.
pub fn hit_notes(hits: &[Hit], sample_rate: u32, key_for: impl Fn(DrumClass) -> Option<u8>) -> Vec<Note> {
    let mut notes: Vec<Note> = hits
        .iter()
        .flat_map(|h| {
            let seconds = h.seconds(sample_rate);
            h.classes.iter().filter_map(|&(c, _)| key_for(c)).map(move |key| Note {
                seconds,
                key,
                velocity: h.velocity,
            })
        })
        .collect();
    notes.sort_by(|a, b| a.seconds.total_cmp(&b.seconds).then(a.key.cmp(&b.key)));
    notes
}

/// A format-0 standard MIDI file of `hits` with each class on its General MIDI drum note.
pub fn hits_to_smf(hits: &[Hit], sample_rate: u32, opts: &SmfOptions) -> Vec<u8> {
    write_smf(&hit_notes(hits, sample_rate, DrumClass::gm_note), opts)
}

/// A format-0 standard MIDI file: track name, tempo, 4/4, then the notes.
pub fn write_smf(notes: &[Note], opts: &SmfOptions) -> Vec<u8> {
    let ch = opts.channel & 0x0F;
    // (tick, note-offs before note-ons at the same tick, bytes)
    let mut events: Vec<(u64, u8, [u8; 3])> = Vec::with_capacity(notes.len() * 2);
    let mut sorted: Vec<(u64, Note)> = notes.iter().map(|n| (opts.ticks(n.seconds), *n)).collect();
    sorted.sort_by_key(|&(t, n)| (t, n.key));
    sorted.dedup_by_key(|&mut (t, n)| (t, n.key));
    for (i, &(on, n)) in sorted.iter().enumerate() {
        let key = n.key.min(127);
        let next_same = sorted[i + 1..].iter().find(|(_, m)| m.key == n.key).map(|&(t, _)| t);
        let off = next_same.map_or(on + u64::from(opts.note_ticks), |t| t.min(on + u64::from(opts.note_ticks)));
        events.push((on, 1, [0x90 | ch, key, n.velocity.clamp(1, 127)]));
        events.push((off, 0, [0x80 | ch, key, 0]));
    }
    events.sort_by_key(|&(t, order, _)| (t, order));

    let mut track = Vec::new();
    let meta = |kind: u8, data: &[u8], track: &mut Vec<u8>| {
        track.extend_from_slice(&[0x00, 0xFF, kind]);
        vlq(data.len() as u64, track);
        track.extend_from_slice(data);
    };
    meta(0x03, b"Drumsort hits", &mut track);
    meta(0x51, &opts.tempo_us().to_be_bytes()[1..], &mut track);
    meta(0x58, &[4, 2, 24, 8], &mut track);
    let mut now = 0u64;
    for (t, _, bytes) in events {
        vlq(t - now, &mut track);
        track.extend_from_slice(&bytes);
        now = t;
    }
    track.extend_from_slice(&[0x00, 0xFF, 0x2F, 0x00]);

    let mut out = Vec::with_capacity(track.len() + 22);
    out.extend_from_slice(b"MThd");
    out.extend_from_slice(&6u32.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // format 0
    out.extend_from_slice(&1u16.to_be_bytes()); // one track
    out.extend_from_slice(&opts.ppq.min(0x7FFF).to_be_bytes());
    out.extend_from_slice(b"MTrk");
    out.extend_from_slice(&(track.len() as u32).to_be_bytes());
    out.extend_from_slice(&track);
    out
}

/// Appends `v` as a MIDI variable-length quantity (7 bits per byte, high bit = more follow).
/// Values above the format's 28-bit limit are clamped (over 38 hours at the default tempo).
fn vlq(v: u64, out: &mut Vec<u8>) {
    let v = v.min(0x0FFF_FFFF);
    let mut shift = 21;
    while shift > 0 && v >> shift == 0 {
        shift -= 7;
    }
    while shift > 0 {
        out.push(0x80 | ((v >> shift) & 0x7F) as u8);
        shift -= 7;
    }
    out.push((v & 0x7F) as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

    #[test]
    fn vlq_matches_the_spec_examples() {
        for (v, want) in [
            (0u64, vec![0x00]),
            (0x40, vec![0x40]),
            (0x7F, vec![0x7F]),
            (0x80, vec![0x81, 0x00]),
            (0x2000, vec![0xC0, 0x00]),
            (0x3FFF, vec![0xFF, 0x7F]),
            (0x4000, vec![0x81, 0x80, 0x00]),
            (0x0FFF_FFFF, vec![0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            vlq(v, &mut out);
            assert_eq!(out, want, "{v:#x}");
        }
    }

    /// (absolute tick, channel, key, velocity; 0 for note-off) of every note event.
    fn read(bytes: &[u8]) -> (Smf<'_>, Vec<(u64, u8, u8, u8)>) {
        let smf = Smf::parse(bytes).expect("valid SMF");
        let mut t = 0u64;
        let mut out = Vec::new();
        for e in &smf.tracks[0] {
            t += u64::from(e.delta.as_int());
            if let TrackEventKind::Midi { channel, message } = e.kind {
                match message {
                    MidiMessage::NoteOn { key, vel } => out.push((t, channel.as_int(), key.as_int(), vel.as_int())),
                    MidiMessage::NoteOff { key, .. } => out.push((t, channel.as_int(), key.as_int(), 0)),
                    _ => {}
                }
            }
        }
        (smf, out)
    }

    #[test]
    fn hits_become_gm_notes_on_channel_ten_at_exact_ticks() {
        let sr = 44_100;
        let hits = vec![
            Hit { sample: 0, classes: vec![(DrumClass::Kick, 0.9), (DrumClass::ClosedHat, 0.7)], velocity: 100 },
            Hit { sample: 22_050, classes: vec![(DrumClass::Snare, 0.8)], velocity: 90 },
            // 40 ms later: the same key again cuts the first note short.
            Hit { sample: 22_050 + 1764, classes: vec![(DrumClass::Snare, 0.6)], velocity: 30 },
            Hit { sample: 3 * sr as u64, classes: vec![(DrumClass::Crash, 0.6)], velocity: 127 },
        ];
        let bytes = hits_to_smf(&hits, sr, &SmfOptions::default());
        let (smf, notes) = read(&bytes);
        assert!(matches!(smf.header.format, midly::Format::SingleTrack));
        assert_eq!(smf.header.timing, Timing::Metrical(480.into()));
        assert_eq!(smf.tracks.len(), 1);
        let tempo = smf.tracks[0].iter().find_map(|e| match e.kind {
            TrackEventKind::Meta(MetaMessage::Tempo(t)) => Some(t.as_int()),
            _ => None,
        });
        assert_eq!(tempo, Some(500_000));
        let ons: Vec<_> = notes.iter().filter(|n| n.3 > 0).copied().collect();
        assert_eq!(ons, vec![(0, 9, 36, 100), (0, 9, 42, 100), (480, 9, 38, 90), (518, 9, 38, 30), (2880, 9, 49, 127)]);
        let offs: Vec<_> = notes.iter().filter(|n| n.3 == 0).map(|n| (n.0, n.2)).collect();
        assert_eq!(offs, vec![(60, 36), (60, 42), (518, 38), (578, 38), (2940, 49)]);
    }

    #[test]
    fn an_empty_performance_is_a_valid_file() {
        let bytes = hits_to_smf(&[], 48_000, &SmfOptions::default());
        let (smf, notes) = read(&bytes);
        assert_eq!(smf.tracks.len(), 1);
        assert!(notes.is_empty());
    }
}
