//! An exponential moving average of the network's weights, and copies of its variables by name
//! for saving a checkpoint.

use std::collections::HashMap;

use candle_core::Tensor;
use candle_nn::VarMap;

/// An exponential moving average of a network's variables.
pub(super) struct Ema {
    decay: f64,
    vars: Vec<(String, candle_core::Var)>,
    average: Vec<Tensor>,
}

impl Ema {
    pub(super) fn new(varmap: &VarMap, decay: f64) -> candle_core::Result<Self> {
        let vars = vars_by_name(varmap)?;
        let average = vars.iter().map(|(_, v)| v.as_tensor().detach()).collect();
        Ok(Self { decay, vars, average })
    }

    /// Folds the current weights in after optimiser step `step` (0-based); early steps use a
    /// shorter memory so the average does not drag the random initialisation along.
    pub(super) fn update(&mut self, step: usize) -> candle_core::Result<()> {
        let d = self.decay.min((1.0 + step as f64) / (10.0 + step as f64));
        for ((_, var), avg) in self.vars.iter().zip(&mut self.average) {
            *avg = ((&*avg * d)? + (var.as_tensor().detach() * (1.0 - d))?)?.detach();
        }
        Ok(())
    }

    /// Runs `f` with the averaged weights in the network, then puts the raw weights back.
    pub(super) fn with_average<T>(&self, f: impl FnOnce() -> candle_core::Result<T>) -> candle_core::Result<T> {
        let raw: Vec<Tensor> =
            self.vars.iter().map(|(_, v)| v.as_tensor().copy()).collect::<candle_core::Result<_>>()?;
        for ((_, var), avg) in self.vars.iter().zip(&self.average) {
            var.set(avg)?;
        }
        let out = f();
        for ((_, var), w) in self.vars.iter().zip(&raw) {
            var.set(w)?;
        }
        out
    }

    /// The averaged weights by name, for saving.
    pub(super) fn snapshot(&self) -> candle_core::Result<HashMap<String, Tensor>> {
        self.vars.iter().zip(&self.average).map(|((k, _), t)| Ok((k.clone(), t.copy()?))).collect()
    }
}

/// Every variable of `varmap` with its name, in name order.
fn vars_by_name(varmap: &VarMap) -> candle_core::Result<Vec<(String, candle_core::Var)>> {
    let data = varmap.data().lock().map_err(|_| candle_core::Error::Msg("varmap lock poisoned".into()))?;
    let mut vars: Vec<(String, candle_core::Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(vars)
}

/// A copy of every variable by name, for saving.
pub(super) fn snapshot(varmap: &VarMap) -> candle_core::Result<HashMap<String, Tensor>> {
    vars_by_name(varmap)?.into_iter().map(|(k, v)| Ok((k, v.as_tensor().copy()?))).collect()
}
