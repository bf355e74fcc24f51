//! The audio thread's side of the plugin: auditioned samples mixed into the output and labelled
//! hits turned into note events at their exact sample positions.
//!
//! Everything here is allocated by [`rings`] on `activate()` (off the audio thread); the
//! `process()`-side methods never allocate, free, lock or wait. Buffers the audio thread is done
//! with go back to the worker through a ring so that freeing them happens there.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use drumsort_core::class::DrumClass;

/// Samples of a decoded audition, interleaved stereo at the host's rate. Owned by the worker
/// until it is pushed; freed by the worker after the audio thread hands it back.
pub type SampleBuffer = Box<[f32]>;

/// Auditions the worker can queue before the audio thread takes them.
const AUDITION_SLOTS: usize = 4;
/// Labelled hits waiting for their note time (over a second of the densest playing).
pub const NOTE_SLOTS: usize = 64;
/// Note-on and note-off events scheduled but not yet sent.
const SCHEDULED_SLOTS: usize = 256;

/// What the worker tells the audition player.
#[derive(Debug)]
pub enum AuditionMsg {
    /// Play this buffer from its start, replacing whatever plays.
    Play(SampleBuffer),
    /// Stop playing.
    Stop,
}

/// A labelled hit as the worker sends it to the audio thread: plain `Copy` data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HitNote {
    /// Absolute sample of the hit (the detector's count since activation).
    pub sample: u64,
    pub class: DrumClass,
    pub velocity: u8,
}

/// The worker's ends of the rings made on `activate()`.
#[derive(Debug)]
pub struct WorkerEnds {
    pub audition: rtrb::Producer<AuditionMsg>,
    /// Buffers the audio thread is done with, to be freed on the worker.
    pub retired: rtrb::Consumer<SampleBuffer>,
    pub notes: rtrb::Producer<HitNote>,
    /// Windows the worker has finished with (notes pushed, or lost to an error), added after the
    /// notes are in the ring (`Release`): an offline `process()` waits on it.
    pub handled: Arc<AtomicU64>,
}

/// The audition ends of the rings, for the library thread.
#[derive(Debug)]
pub struct AuditionEnds {
    pub sample_rate: u32,
    pub audition: rtrb::Producer<AuditionMsg>,
    pub retired: rtrb::Consumer<SampleBuffer>,
}

/// Makes the rings between the worker and the audio thread. Allocates: call on `activate()`.
pub fn rings() -> (AuditionPlayer, NoteScheduler, WorkerEnds) {
    let (audition, audition_rx) = rtrb::RingBuffer::new(AUDITION_SLOTS);
    // Every buffer the player can hold (queued + playing) fits, so handing one back never fails.
    let (retire, retired) = rtrb::RingBuffer::new(AUDITION_SLOTS + 2);
    let (notes, notes_rx) = rtrb::RingBuffer::new(NOTE_SLOTS);
    let player = AuditionPlayer { inbox: audition_rx, retire, playing: None, position: 0 };
    let scheduler =
        NoteScheduler { inbox: notes_rx, scheduled: [Scheduled::default(); SCHEDULED_SLOTS], len: 0, late: 0 };
    (player, scheduler, WorkerEnds { audition, retired, notes, handled: Arc::new(AtomicU64::new(0)) })
}

/// Mixes an auditioned sample into the output, sample-accurately from the block after it
/// arrives. Audio thread only.
#[derive(Debug)]
pub struct AuditionPlayer {
    inbox: rtrb::Consumer<AuditionMsg>,
    retire: rtrb::Producer<SampleBuffer>,
    /// The buffer playing and the next frame to play.
    playing: Option<SampleBuffer>,
    position: usize,
}

impl AuditionPlayer {
    /// Takes new messages, then adds the playing sample times `gain` into `left` and `right`
    /// (equal lengths). Never allocates or frees.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], gain: f32) {
        // A message is taken only when the buffer it replaces can be handed back (the retire ring
        // is sized so that it always can while the worker runs).
        while self.retire.slots() > 0 {
            match self.inbox.pop() {
                Ok(AuditionMsg::Play(buffer)) => {
                    self.retire_playing();
                    self.playing = Some(buffer);
                    self.position = 0;
                }
                Ok(AuditionMsg::Stop) => self.retire_playing(),
                Err(_) => break,
            }
        }
        let Some(buffer) = &self.playing else { return };
        let frames = (buffer.len() / 2 - self.position).min(left.len());
        let src = &buffer[self.position * 2..(self.position + frames) * 2];
        for ((l, r), frame) in left.iter_mut().zip(right.iter_mut()).zip(src.chunks_exact(2)) {
            *l += frame[0] * gain;
            *r += frame[1] * gain;
        }
        self.position += frames;
        if self.position * 2 >= buffer.len() {
            self.retire_playing();
        }
    }

    /// Whether a sample is playing.
    #[cfg(test)]
    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    fn retire_playing(&mut self) {
        if let Some(buffer) = self.playing.take() {
            if let Err(rtrb::PushError::Full(buffer)) = self.retire.push(buffer) {
                // Cannot happen (a slot was checked before taking the message); keeping the
                // buffer alive forever beats freeing it on the audio thread.
                std::mem::forget(buffer);
            }
        }
        self.position = 0;
    }
}

/// A note event waiting for its sample.
#[derive(Clone, Copy, Debug, Default)]
struct Scheduled {
    at: u64,
    key: u8,
    velocity: u8,
    on: bool,
}

/// Per-block note settings, read from the parameters by `process()`.
#[derive(Clone, Copy, Debug)]
pub struct NoteSettings {
    /// Samples from a hit to its note-on: the latency reported to the host.
    pub latency: u64,
    /// Note length, samples.
    pub length: u64,
    /// Key per class (`None`: the class is disabled), indexed by [`DrumClass::index`].
    pub keys: [Option<u8>; DrumClass::ALL.len()],
}

/// A note event for the host, `timing` samples into the current block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteOut {
    pub timing: u32,
    pub key: u8,
    /// Note-on velocity 1..=127, or 0 for a note-off.
    pub velocity: u8,
}

/// Turns labelled hits into note-ons at `hit + latency` and note-offs after the note length.
/// Audio thread only; a fixed array holds what is scheduled.
#[derive(Debug)]
pub struct NoteScheduler {
    inbox: rtrb::Consumer<HitNote>,
    scheduled: [Scheduled; SCHEDULED_SLOTS],
    len: usize,
    /// Note-ons whose time had passed when the hit arrived (sent at the block start instead).
    late: u64,
}

impl NoteScheduler {
    /// Schedules newly labelled hits, then calls `emit` for every event inside the block that
    /// starts at absolute sample `block_start` and is `block_len` long, in time order. Events
    /// already due (late hits) go out at timing 0. Never allocates.
    pub fn process(
        &mut self,
        block_start: u64,
        block_len: usize,
        settings: &NoteSettings,
        mut emit: impl FnMut(NoteOut),
    ) {
        while let Ok(hit) = self.inbox.pop() {
            let Some(key) = settings.keys[hit.class.index()] else { continue };
            let mut on = hit.sample + settings.latency;
            if on < block_start {
                // Late: the whole note moves to the block start, keeping its length.
                self.late += 1;
                on = block_start;
            }
            self.schedule(Scheduled { at: on, key, velocity: hit.velocity.max(1), on: true });
            self.schedule(Scheduled { at: on + settings.length.max(1), key, velocity: 0, on: false });
        }
        let end = block_start + block_len as u64;
        loop {
            // The earliest due event; note-offs before note-ons at the same sample so a retrigger
            // of the same key is not cut by its predecessor's note-off, then by key.
            let next = self.scheduled[..self.len]
                .iter()
                .enumerate()
                .filter(|(_, e)| e.at < end)
                .min_by_key(|(_, e)| (e.at, e.on, e.key))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let e = self.scheduled[i];
            self.scheduled[i] = self.scheduled[self.len - 1];
            self.len -= 1;
            let timing = e.at.saturating_sub(block_start).min(block_len.saturating_sub(1) as u64) as u32;
            emit(NoteOut { timing, key: e.key, velocity: e.velocity });
        }
    }

    /// Adds `event` to the schedule; a full schedule loses it (the array never grows on the audio
    /// thread).
    fn schedule(&mut self, event: Scheduled) {
        if self.len < SCHEDULED_SLOTS {
            self.scheduled[self.len] = event;
            self.len += 1;
        }
    }

    /// Note-ons sent late because the worker answered after their time.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Drops everything scheduled (transport jump, reset). Pending note-offs are sent first by
    /// the caller's choice: this only forgets.
    pub fn clear(&mut self) {
        self.len = 0;
        while self.inbox.pop().is_ok() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(latency: u64) -> NoteSettings {
        let mut keys = [None; DrumClass::ALL.len()];
        for c in DrumClass::DRUMS {
            keys[c.index()] = c.gm_note();
        }
        NoteSettings { latency, length: 100, keys }
    }

    #[test]
    fn notes_land_at_hit_plus_latency_with_note_offs_after_the_length() {
        let (_, mut sched, mut ends) = rings();
        ends.notes.push(HitNote { sample: 1000, class: DrumClass::Kick, velocity: 90 }).unwrap();
        ends.notes.push(HitNote { sample: 1000, class: DrumClass::ClosedHat, velocity: 60 }).unwrap();
        let mut out = Vec::new();
        let s = settings(500);
        for block in 0..40u64 {
            sched.process(block * 64, 64, &s, |n| out.push((block * 64 + u64::from(n.timing), n.key, n.velocity)));
        }
        assert_eq!(out, vec![(1500, 36, 90), (1500, 42, 60), (1600, 36, 0), (1600, 42, 0)]);
        assert_eq!(sched.late(), 0);
    }

    #[test]
    fn late_hits_go_out_at_the_block_start_and_disabled_classes_are_skipped() {
        let (_, mut sched, mut ends) = rings();
        ends.notes.push(HitNote { sample: 0, class: DrumClass::Snare, velocity: 100 }).unwrap();
        ends.notes.push(HitNote { sample: 0, class: DrumClass::Cowbell, velocity: 100 }).unwrap();
        let mut s = settings(10);
        s.keys[DrumClass::Cowbell.index()] = None;
        let mut out = Vec::new();
        sched.process(256, 64, &s, |n| out.push(n));
        assert_eq!(out, vec![NoteOut { timing: 0, key: 38, velocity: 100 }]);
        assert_eq!(sched.late(), 1);
    }

    #[test]
    fn audition_mixes_the_sample_and_hands_buffers_back() {
        let (mut player, _, mut ends) = rings();
        let sample: SampleBuffer = (0..20).map(|i| i as f32).collect::<Vec<_>>().into_boxed_slice();
        ends.audition.push(AuditionMsg::Play(sample)).unwrap();
        let (mut l, mut r) = (vec![1.0f32; 4], vec![0.0f32; 4]);
        player.process(&mut l, &mut r, 0.5);
        assert_eq!(l, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(r, vec![0.5, 1.5, 2.5, 3.5]);
        let (mut l, mut r) = (vec![0.0f32; 8], vec![0.0f32; 8]);
        player.process(&mut l, &mut r, 1.0);
        assert_eq!(&l[..6], &[8.0, 10.0, 12.0, 14.0, 16.0, 18.0]);
        assert_eq!(&l[6..], &[0.0, 0.0]);
        assert!(!player.is_playing());
        assert_eq!(ends.retired.pop().unwrap().len(), 20);

        ends.audition.push(AuditionMsg::Play(vec![1.0; 100].into_boxed_slice())).unwrap();
        player.process(&mut l, &mut r, 1.0);
        ends.audition.push(AuditionMsg::Stop).unwrap();
        let (mut l, mut r) = (vec![0.0f32; 8], vec![0.0f32; 8]);
        player.process(&mut l, &mut r, 1.0);
        assert_eq!(l, vec![0.0; 8]);
        assert!(ends.retired.pop().is_ok());
    }
}
