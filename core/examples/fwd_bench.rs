//! Forward-pass cost of candidate network shapes (random weights), for choosing the model's
//! `Config`: `RAYON_NUM_THREADS=2 cargo run --release -p drumsort-core --example fwd_bench`.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use drumsort_core::model::{Config, DrumNet};

const BATCH: usize = 32;
const RUNS: usize = 10;

fn main() {
    let wide_first =
        Config { channels: vec![16, 32, 48], freq_pool: vec![4, 2, 2], time_pool: vec![2, 2, 1], ..Config::default() };
    // The shipped one-shot model: the default conv blocks, a GRU of 160 (`--gru-hidden 160`).
    let gru = |gru_hidden| Config { gru_hidden, ..Config::default() };
    // Wider conv blocks under the shipped GRU (`--channels A,B,C --gru-hidden 160`).
    let wide = |channels: [usize; 3]| Config { channels: channels.to_vec(), gru_hidden: 160, ..Config::default() };
    for (name, cfg) in [
        ("16-32-48 t2", wide_first),
        ("default", Config::default()),
        ("gru 160", gru(160)),
        ("gru 256", gru(256)),
        ("8-48-64 g160", wide([8, 48, 64])),
        ("12-48-64 g160", wide([12, 48, 64])),
    ] {
        let varmap = VarMap::new();
        let net = DrumNet::new(&cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        let params: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
        // 100 frames = a 1 s one-shot; 5 frames = the hit labeller's 50 ms window.
        for frames in [100usize, 5] {
            let xs = Tensor::randn(-8f32, 5.0, (BATCH, frames, cfg.n_mels), &Device::Cpu).unwrap();
            // `forward` is the training graph, `infer` what the classifier runs.
            let time = |infer: bool| {
                let run = || if infer { net.infer(&xs) } else { net.forward(&xs) };
                run().unwrap();
                let t = Instant::now();
                for _ in 0..RUNS {
                    run().unwrap().logits.to_vec2::<f32>().unwrap();
                }
                t.elapsed().as_secs_f64() * 1000.0 / (RUNS * BATCH) as f64
            };
            let (forward, infer) = (time(false), time(true));
            println!(
                "{name:12} {params:7} params  {frames:3} frames: forward {forward:.3}  infer {infer:.3} ms per clip"
            );
        }
    }
}
