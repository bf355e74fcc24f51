//! The pass-through delay: the plugin reports a latency to the host (the lookahead, one block and
//! the classification margin) and the host shifts this track earlier by that much to line it up
//! with the others, so the audio must come out exactly that late too, or the mix plays early.

/// A fixed delay of `len` samples for one channel, allocated on `activate()`. Audio thread:
/// [`DelayLine::process`] and [`DelayLine::clear`] never allocate.
#[derive(Debug)]
pub struct DelayLine {
    /// The last `len` input samples, oldest at `pos`.
    buf: Box<[f32]>,
    pos: usize,
}

impl DelayLine {
    /// A delay of `len` samples, starting from silence. Allocates.
    pub fn new(len: usize) -> Self {
        Self { buf: vec![0.0; len].into_boxed_slice(), pos: 0 }
    }

    /// Replaces `io` with itself delayed by the `len` samples given to [`Self::new`]: after any
    /// sequence of calls, the output's sample `n` is the input's sample `n - len` (silence before
    /// the first).
    pub fn process(&mut self, io: &mut [f32]) {
        let len = self.buf.len();
        if len == 0 {
            return;
        }
        let mut done = 0;
        while done < io.len() {
            // The run up to the ring's end, swapped in one pass: what was stored `len` samples
            // ago goes out, the new input goes in.
            let n = (io.len() - done).min(len - self.pos);
            let ring = &mut self.buf[self.pos..self.pos + n];
            ring.swap_with_slice(&mut io[done..done + n]);
            done += n;
            self.pos = (self.pos + n) % len;
        }
    }

    /// Forgets the stored audio (transport jumps, reset).
    pub fn clear(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_the_input_shifted_by_the_delay_for_any_block_lengths() {
        let input: Vec<f32> = (1..=5000).map(|i| i as f32).collect();
        for delay in [0, 1, 7, 1024, 3904] {
            let mut line = DelayLine::new(delay);
            let mut output = input.clone();
            // Uneven blocks, some longer than the delay, one sample, an empty one.
            let mut at = 0;
            for (i, block) in [512usize, 1, 0, 333, 4096, 64].iter().cycle().enumerate() {
                if at >= output.len() || i > 1000 {
                    break;
                }
                let end = (at + block).min(output.len());
                line.process(&mut output[at..end]);
                at = end;
            }
            for (n, &y) in output.iter().enumerate() {
                let expected = if n < delay { 0.0 } else { input[n - delay] };
                assert_eq!(y, expected, "delay {delay}, sample {n}");
            }
        }
    }

    #[test]
    fn clear_forgets_what_was_stored() {
        let mut line = DelayLine::new(4);
        let mut a = [1.0, 2.0, 3.0];
        line.process(&mut a);
        line.clear();
        let mut b = [9.0; 6];
        line.process(&mut b);
        assert_eq!(b, [0.0, 0.0, 0.0, 0.0, 9.0, 9.0]);
    }
}
