//! The classifier network: conv blocks over the log-mel, a GRU over time, and two heads
//! (per-class scores and an embedding).
//!
//! Candle style: [`Config`] + [`DrumNet::new`] + [`DrumNet::forward`]. Input is a batch of
//! log-mel spectrograms `[batch, frames, n_mels]` of any length >= 1 frame; shorter inputs than
//! [`DrumNet::MIN_FRAMES`] are padded with the silence floor inside `forward`.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{conv2d, group_norm, linear, rnn::GRUConfig, Conv2d, GroupNorm, Linear, VarBuilder, GRU, RNN};

use crate::class::DrumClass;

/// Shape of the network. Serialised next to the weights so a checkpoint is self-describing.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// Mel bands of the input (must equal the feature config's `n_mels`).
    pub n_mels: usize,
    /// Output channels of each conv block.
    pub channels: Vec<usize>,
    /// Frequency pooling factor of each conv block: the conv stack's job is to summarise the
    /// spectrum into a few broad bands the GRU follows over time.
    pub freq_pool: Vec<usize>,
    /// Time pooling factor of each conv block (1 = keep every frame).
    pub time_pool: Vec<usize>,
    /// GRU hidden size.
    pub gru_hidden: usize,
    /// A second GRU reads the steps backwards and its states join the forward one's (a whole
    /// one-shot is there to read both ways; off in the models trained before it existed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bidirectional: bool,
    /// Embedding width (similarity maps, near-duplicates).
    pub embed_dim: usize,
    /// Number of output scores, one per [`DrumClass`].
    pub n_classes: usize,
    /// Input standardisation: `(log_mel - input_mean) / input_std`, measured on the train set.
    pub input_mean: f32,
    pub input_std: f32,
    /// The log-mel value of silence, used to pad inputs shorter than [`DrumNet::MIN_FRAMES`].
    pub pad_value: f32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            n_mels: 64,
            // Eight channels at full resolution and time pooled by 4 there: the first block's
            // feature map is what candle's CPU backend spends its time on (memory traffic of
            // conv, group norm and pooling). 16 channels / time pool 2 took 2.4 ms per 1 s clip,
            // this takes 1.06 ms (batch 32; `core/examples/fwd_bench.rs`).
            channels: vec![8, 32, 48],
            freq_pool: vec![4, 2, 2],
            time_pool: vec![4, 2, 1],
            gru_hidden: 96,
            bidirectional: false,
            embed_dim: 64,
            n_classes: DrumClass::COUNT,
            input_mean: -6.0,
            input_std: 4.0,
            pad_value: (1e-6f32).ln(),
        }
    }
}

/// Channel groups of each conv block's group norm.
const NORM_GROUPS: usize = 4;
/// Group norm's epsilon.
const NORM_EPS: f64 = 1e-5;

/// Conv 3x3 -> group norm -> ReLU -> max-pool (`freq_pool` x `time_pool`).
///
/// Group norm, not batch norm: its statistics are per clip, so a 30 ms onset window and a full
/// one-shot are normalised the same way in training and at inference, whatever else is in the
/// batch (batch norm's running averages, dominated by full clips, wrecked short windows).
#[derive(Debug)]
struct ConvBlock {
    conv: Conv2d,
    norm: GroupNorm,
    /// The group norm's per-channel scale and shift (the same tensors `norm` holds), for
    /// [`ConvBlock::infer`].
    gamma: Tensor,
    beta: Tensor,
    freq_pool: usize,
    time_pool: usize,
}

impl ConvBlock {
    fn new(c_in: usize, c_out: usize, (freq_pool, time_pool): (usize, usize), vb: VarBuilder) -> Result<Self> {
        let cfg = candle_nn::Conv2dConfig { padding: 1, ..Default::default() };
        let conv = conv2d(c_in, c_out, 3, cfg, vb.pp("conv"))?;
        let norm = group_norm(NORM_GROUPS.min(c_out), c_out, NORM_EPS, vb.pp("norm"))?;
        let gamma = vb.pp("norm").get(c_out, "weight")?;
        let beta = vb.pp("norm").get(c_out, "bias")?;
        Ok(Self { conv, norm, gamma, beta, freq_pool, time_pool })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = self.conv.forward(xs)?;
        let xs = self.norm.forward(&xs)?.relu()?;
        xs.max_pool2d((self.freq_pool, self.time_pool))
    }

    /// The same function as [`ConvBlock::forward`] with fewer passes over the full-resolution
    /// map, for inference. Group norm is a per-channel affine map once its statistics are known,
    /// and max-pooling commutes with an increasing one (and with ReLU), so: statistics from two
    /// sums, pool the raw convolution (the minimum where a channel's scale is negative), then
    /// scale, shift and ReLU the map that is `freq_pool * time_pool` times smaller.
    fn infer(&self, xs: &Tensor) -> Result<Tensor> {
        let x = self.conv.forward(xs)?;
        let (b, c, h, w) = x.dims4()?;
        let groups = NORM_GROUPS.min(c);
        let per_group = c / groups;
        let n = (per_group * h * w) as f64;
        let xg = x.reshape((b, groups, per_group * h * w))?;
        let mean = (xg.sum_keepdim(2)? / n)?;
        // E[x^2] - E[x]^2, clamped: rounding may take a constant group a hair below zero.
        let var = ((xg.sqr()?.sum_keepdim(2)? / n)? - mean.sqr()?)?.relu()?;
        let inv_std = (var + NORM_EPS)?.sqrt()?.recip()?;
        let per_channel = |t: &Tensor| t.broadcast_as((b, groups, per_group))?.contiguous()?.reshape((b, c));
        let scale = per_channel(&inv_std)?.broadcast_mul(&self.gamma.unsqueeze(0)?)?;
        let shift = self.beta.unsqueeze(0)?.broadcast_sub(&(per_channel(&mean)? * &scale)?)?;
        let pool = (self.freq_pool, self.time_pool);
        let maxed = x.max_pool2d(pool)?;
        let positive = self.gamma.ge(0f32)?;
        let pooled = if positive.min_all()?.to_scalar::<u8>()? == 1 {
            maxed
        } else {
            let mined = x.neg()?.max_pool2d(pool)?.neg()?;
            positive.reshape((1, c, 1, 1))?.broadcast_as(maxed.shape())?.where_cond(&maxed, &mined)?
        };
        pooled.broadcast_mul(&scale.reshape((b, c, 1, 1))?)?.broadcast_add(&shift.reshape((b, c, 1, 1))?)?.relu()
    }
}

/// What one forward pass yields.
#[derive(Debug)]
pub struct Output {
    /// Raw class logits `[batch, n_classes]`; `sigmoid` gives independent per-class scores, so two
    /// drums struck together can both score high.
    pub logits: Tensor,
    /// L2-normalised embedding `[batch, embed_dim]`; cosine distance between sounds.
    pub embedding: Tensor,
}

/// The Drumsort classifier network.
#[derive(Debug)]
pub struct DrumNet {
    cfg: Config,
    blocks: Vec<ConvBlock>,
    gru: GRU,
    /// The backward GRU of a [`Config::bidirectional`] network.
    gru_back: Option<GRU>,
    embed: Linear,
    head: Linear,
}

impl DrumNet {
    /// Inputs shorter than this are padded with silence: the conv stack pools time by the
    /// product of `time_pool` and needs at least one step left.
    pub const MIN_FRAMES: usize = 4;

    /// Builds the network; weight names come from `vb` (`block{i}.conv`, `block{i}.norm`, `gru`,
    /// `embed`, `head`).
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let n = cfg.channels.len();
        if n == 0 || cfg.time_pool.len() != n || cfg.freq_pool.len() != n {
            candle_core::bail!("model config needs one freq_pool and time_pool per conv block: {cfg:?}");
        }
        let mut blocks = Vec::new();
        let mut c_in = 1;
        for (i, &c_out) in cfg.channels.iter().enumerate() {
            let pools = (cfg.freq_pool[i], cfg.time_pool[i]);
            blocks.push(ConvBlock::new(c_in, c_out, pools, vb.pp(format!("block{i}")))?);
            c_in = c_out;
        }
        let freq_out = cfg.n_mels / cfg.freq_pool.iter().product::<usize>().max(1);
        if freq_out == 0 {
            candle_core::bail!("{} mel bands cannot be pooled by {:?}", cfg.n_mels, cfg.freq_pool);
        }
        let gru_layer =
            |name: &str| candle_nn::rnn::gru(c_in * freq_out, cfg.gru_hidden, GRUConfig::default(), vb.pp(name));
        let gru = gru_layer("gru")?;
        let gru_back = if cfg.bidirectional { Some(gru_layer("gru_back")?) } else { None };
        let directions = 1 + cfg.bidirectional as usize;
        let embed = linear(2 * directions * cfg.gru_hidden, cfg.embed_dim, vb.pp("embed"))?;
        let head = linear(cfg.embed_dim, cfg.n_classes, vb.pp("head"))?;
        Ok(Self { cfg: cfg.clone(), blocks, gru, gru_back, embed, head })
    }

    /// The network's config.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Minimum input frames so every pooling stage keeps at least one time step.
    pub fn min_frames(&self) -> usize {
        self.cfg.time_pool.iter().product::<usize>().max(Self::MIN_FRAMES)
    }

    /// `xs`: `[batch, frames, n_mels]` log-mel. Returns logits and embeddings. Training uses
    /// this; there is no dropout and no batch statistics, so it is also the reference for
    /// [`DrumNet::infer`].
    pub fn forward(&self, xs: &Tensor) -> Result<Output> {
        self.run(xs, false)
    }

    /// [`DrumNet::forward`]'s function computed with fewer passes over the conv blocks'
    /// full-resolution maps (equal up to float rounding): what the classifier runs.
    pub fn infer(&self, xs: &Tensor) -> Result<Output> {
        self.run(xs, true)
    }

    fn run(&self, xs: &Tensor, fast: bool) -> Result<Output> {
        let (b, t, f) = xs.dims3()?;
        if f != self.cfg.n_mels {
            candle_core::bail!("expected {} mel bands, got {f}", self.cfg.n_mels);
        }
        let min = self.min_frames();
        let xs = if t < min {
            let pad = Tensor::full(self.cfg.pad_value, (b, min - t, f), xs.device())?.to_dtype(xs.dtype())?;
            Tensor::cat(&[xs, &pad], 1)?
        } else {
            xs.clone()
        };
        let xs = ((xs - self.cfg.input_mean as f64)? / self.cfg.input_std as f64)?;
        // [b, t, f] -> [b, 1, f, t]: frequency is the conv "height", time the "width".
        let mut xs = xs.transpose(1, 2)?.unsqueeze(1)?;
        for block in &self.blocks {
            xs = if fast { block.infer(&xs)? } else { block.forward(&xs)? };
        }
        // [b, c, f', t'] -> [b, t', c * f']
        let (b, c, f2, t2) = xs.dims4()?;
        let xs = xs.permute((0, 3, 1, 2))?.reshape((b, t2, c * f2))?;
        let states = self.gru.seq(&xs)?;
        let hs = Tensor::stack(&states.iter().map(|s| s.h.clone()).collect::<Vec<_>>(), 1)?; // [b, t', h]
        let hs = match &self.gru_back {
            Some(back) => {
                // The steps backwards, the states put back in time order: [b, t', 2h].
                let reversed: Vec<u32> = (0..t2 as u32).rev().collect();
                let reversed = Tensor::new(reversed.as_slice(), xs.device())?;
                let states = back.seq(&xs.index_select(&reversed, 1)?)?;
                let back_hs = Tensor::stack(&states.iter().rev().map(|s| s.h.clone()).collect::<Vec<_>>(), 1)?;
                Tensor::cat(&[hs, back_hs], D::Minus1)?
            }
            None => hs,
        };
        let pooled = Tensor::cat(&[hs.mean(1)?, hs.max(1)?], D::Minus1)?; // [b, 2h], 4h both ways
        let emb = self.embed.forward(&pooled)?;
        let norm = emb.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-6, f64::MAX)?;
        let embedding = emb.broadcast_div(&norm)?;
        // No dropout: candle's CPU RNG cannot be seeded and training must be reproducible;
        // augmentation and weight decay regularise instead.
        let logits = self.head.forward(&emb.relu()?)?;
        Ok(Output { logits, embedding })
    }
}

/// `1 / (1 + e^-x)` on plain floats, for turning logits into scores outside candle.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    fn net(varmap: &VarMap) -> DrumNet {
        let vb = VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu);
        DrumNet::new(&Config::default(), vb).unwrap()
    }

    #[test]
    fn forward_shapes_for_any_length() {
        let varmap = VarMap::new();
        let net = net(&varmap);
        for t in [1, 3, 4, 9, 50, 173] {
            let xs = Tensor::randn(-6f32, 3.0, (2, t, 64), &Device::Cpu).unwrap();
            let out = net.forward(&xs).unwrap();
            assert_eq!(out.logits.dims(), &[2, DrumClass::COUNT], "t={t}");
            assert_eq!(out.embedding.dims(), &[2, 64]);
            let norms: Vec<f32> = out.embedding.sqr().unwrap().sum(1).unwrap().to_vec1().unwrap();
            assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-3), "embedding not unit length: {norms:?}");
        }
    }

    #[test]
    fn infer_computes_forward_with_fewer_passes() {
        let varmap = VarMap::new();
        let net = net(&varmap);
        let max_diff =
            |a: &Tensor, b: &Tensor| -> f32 { (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap() };
        let check = |what: &str| {
            for t in [1, 5, 12, 100] {
                let xs = Tensor::randn(-6f32, 3.0, (3, t, 64), &Device::Cpu).unwrap();
                let (a, b) = (net.forward(&xs).unwrap(), net.infer(&xs).unwrap());
                assert!(max_diff(&a.logits, &b.logits) < 1e-4, "{what}, t={t}: logits differ");
                assert!(max_diff(&a.embedding, &b.embedding) < 1e-4, "{what}, t={t}: embeddings differ");
            }
        };
        check("fresh norms (scale 1, shift 0)");
        // Trained norms have scales of both signs: a negative one turns max-pooling into min.
        let data = varmap.data().lock().unwrap();
        for (name, var) in data.iter().filter(|(n, _)| n.contains("norm")) {
            let dims = var.dims().to_vec();
            let mean = if name.ends_with("weight") { 0.2 } else { 0.0 };
            var.set(&Tensor::randn(mean, 1.0f32, dims, &Device::Cpu).unwrap()).unwrap();
        }
        let gammas = data.iter().filter(|(n, _)| n.ends_with("norm.weight")).map(|(_, v)| v.as_tensor().clone());
        let negative: f32 = gammas
            .map(|g| g.lt(0f32).unwrap().to_dtype(DType::F32).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap())
            .sum();
        assert!(negative > 0.0, "the test needs negative scales");
        drop(data);
        check("random norms of both signs");
    }

    #[test]
    fn a_bidirectional_network_reads_the_steps_both_ways_and_round_trips() {
        let cfg = Config { bidirectional: true, ..Config::default() };
        let varmap = VarMap::new();
        let net = DrumNet::new(&cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        assert!(varmap.data().lock().unwrap().keys().any(|k| k.starts_with("gru_back")));
        let xs = Tensor::randn(-6f32, 3.0, (2, 40, 64), &Device::Cpu).unwrap();
        let (a, b) = (net.forward(&xs).unwrap(), net.infer(&xs).unwrap());
        assert_eq!(a.logits.dims(), &[2, DrumClass::COUNT]);
        let diff: f32 = (&a.logits - &b.logits).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert!(diff < 1e-4, "infer differs from forward by {diff}");
        // Only the backward GRU hears the last frames first: zeroing it changes the output.
        let before = a.logits.to_vec2::<f32>().unwrap();
        for (_, var) in varmap.data().lock().unwrap().iter().filter(|(n, _)| n.starts_with("gru_back")) {
            var.set(&var.zeros_like().unwrap()).unwrap();
        }
        let after = net.forward(&xs).unwrap().logits.to_vec2::<f32>().unwrap();
        assert_ne!(before, after, "the backward GRU takes part in the output");
        // The config round-trips through JSON, and a config without the field reads as one-way.
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), cfg);
        let one_way = serde_json::to_string(&Config::default()).unwrap();
        assert!(!one_way.contains("bidirectional"), "one-way configs read as they were written");
        assert!(!serde_json::from_str::<Config>(&one_way).unwrap().bidirectional);
    }

    #[test]
    fn parameter_count_is_small() {
        let varmap = VarMap::new();
        let _net = net(&varmap);
        let n: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
        assert!(n * 4 < 2_000_000, "{n} parameters is more than 2 MB of f32 weights");
    }

    #[test]
    fn save_load_round_trip_gives_identical_outputs() {
        let varmap = VarMap::new();
        let net1 = net(&varmap);
        let xs = Tensor::randn(-6f32, 3.0, (4, 30, 64), &Device::Cpu).unwrap();
        let path = std::env::temp_dir().join(format!("drumsort-model-rt-{}.safetensors", std::process::id()));
        varmap.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        let vb = VarBuilder::from_slice_safetensors(&bytes, DType::F32, &Device::Cpu).unwrap();
        let net2 = DrumNet::new(&Config::default(), vb).unwrap();
        let a = net1.forward(&xs).unwrap().logits;
        let b = net2.forward(&xs).unwrap().logits;
        let diff: f32 = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap();
        assert!(diff < 1e-5, "outputs differ by {diff} after a save/load round trip");
    }
}
