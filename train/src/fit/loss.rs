//! Training-only pieces of the network's life: seeded initialisation and the loss. The runtime
//! (`drumsort_core::model`) only runs trained weights.

use candle_core::{Result, Tensor};
use candle_nn::VarMap;

/// Re-draws every randomly initialised variable of `varmap` from `rng`, in name order, as
/// uniform(-b, b): weights Kaiming-uniform for ReLU, `b = sqrt(6 / fan_in)` (the spread of
/// candle's own Kaiming-normal default), biases `b = 1 / sqrt(fan_in)` of their weight, as
/// candle draws them. candle's CPU RNG cannot be seeded, so this is
/// what makes training deterministic for a seed. The bound depends only on shapes, never on the
/// values candle drew. Constant-initialised variables (group-norm scale and shift) are left alone.
pub fn reseed_init(varmap: &VarMap, rng: &mut impl rand::Rng) -> Result<()> {
    let data = varmap.data().lock().map_err(|_| candle_core::Error::Msg("varmap lock poisoned".into()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let fan_in = |name: &str| -> Option<usize> {
        let dims = data.get(name)?.dims().to_vec();
        (dims.len() >= 2).then(|| dims[1..].iter().product())
    };
    for name in names {
        let var = &data[name];
        let values: Vec<f32> = var.flatten_all()?.to_vec1()?;
        if values.iter().all(|&v| v == values[0]) {
            continue; // constant init: norm scale/shift
        }
        let bound = match fan_in(name) {
            Some(fan) => (6.0 / fan.max(1) as f32).sqrt(),
            None => 1.0 / (fan_in(&name.replace("bias", "weight")).unwrap_or(values.len()).max(1) as f32).sqrt(),
        };
        let fresh: Vec<f32> = (0..values.len()).map(|_| rng.gen_range(-bound..bound)).collect();
        var.set(&Tensor::from_vec(fresh, var.shape(), var.device())?)?;
    }
    Ok(())
}

/// Numerically stable binary cross-entropy on logits, averaged over every element:
/// `max(x, 0) - x * t + ln(1 + exp(-|x|))`, optionally weighted per class (`[n_classes]`).
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor, class_weights: Option<&Tensor>) -> Result<Tensor> {
    let loss = ((logits.relu()? - (logits * targets)?)? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    let loss = match class_weights {
        Some(w) => loss.broadcast_mul(w)?,
        None => loss,
    };
    loss.mean_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::{Optimizer, VarBuilder};
    use drumsort_core::model::{sigmoid, Config, DrumNet};
    use drumsort_core::DrumClass;

    fn net(varmap: &VarMap) -> DrumNet {
        let vb = VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu);
        DrumNet::new(&Config::default(), vb).unwrap()
    }

    #[test]
    fn bce_matches_reference_and_is_stable() {
        let logits = Tensor::new(&[[0.0f32, 2.0, -3.0, 80.0, -80.0]], &Device::Cpu).unwrap();
        let targets = Tensor::new(&[[1.0f32, 0.0, 0.0, 1.0, 1.0]], &Device::Cpu).unwrap();
        let got: f32 = bce_with_logits(&logits, &targets, None).unwrap().to_scalar().unwrap();
        let reference: f32 = [(0.0f32, 1.0f32), (2.0, 0.0), (-3.0, 0.0), (80.0, 1.0), (-80.0, 1.0)]
            .iter()
            .map(|&(x, t)| {
                let p = sigmoid(x) as f64;
                -(t as f64 * p.max(1e-300).ln() + (1.0 - t as f64) * (1.0 - p).max(1e-300).ln()) as f32
            })
            .sum::<f32>()
            / 5.0;
        assert!(got.is_finite());
        assert!((got - reference).abs() < 1e-3, "{got} vs {reference}");
    }

    #[test]
    fn short_overfit_drives_loss_down() {
        let varmap = VarMap::new();
        let net = net(&varmap);
        let dev = Device::Cpu;
        // Four synthetic "classes": energy in different mel regions.
        let (b, t, f) = (8, 20, 64);
        let mut data = vec![-10f32; b * t * f];
        let mut targets = vec![0f32; b * DrumClass::COUNT];
        for i in 0..b {
            let class = i % 4;
            for frame in 0..t {
                for band in class * 16..class * 16 + 16 {
                    data[(i * t + frame) * f + band] = 2.0 - frame as f32 * 0.2;
                }
            }
            targets[i * DrumClass::COUNT + class] = 1.0;
        }
        let xs = Tensor::from_vec(data, (b, t, f), &dev).unwrap();
        let ys = Tensor::from_vec(targets, (b, DrumClass::COUNT), &dev).unwrap();
        let mut opt =
            candle_nn::AdamW::new(varmap.all_vars(), candle_nn::ParamsAdamW { lr: 3e-3, ..Default::default() })
                .unwrap();
        let loss_at = |net: &DrumNet| -> f32 {
            let out = net.forward(&xs).unwrap();
            bce_with_logits(&out.logits, &ys, None).unwrap().to_scalar().unwrap()
        };
        let first = loss_at(&net);
        for _ in 0..40 {
            let out = net.forward(&xs).unwrap();
            let loss = bce_with_logits(&out.logits, &ys, None).unwrap();
            opt.backward_step(&loss).unwrap();
        }
        let last = loss_at(&net);
        assert!(last < first * 0.3, "loss went from {first} to {last}");
    }
}
