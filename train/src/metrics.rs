//! Classification metrics: confusion matrix, per-class precision / recall / F1, top-1 accuracy
//! and macro-F1, as printed by `cargo xtask eval` and after each training epoch; kit-bootstrap
//! intervals ([`bootstrap`]) and calibration ([`calibration`]) for `cargo xtask eval`.

use std::fmt;

use drumsort_core::DrumClass;

pub mod bootstrap;
pub mod calibration;

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassMetrics {
    pub class: DrumClass,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Number of true examples of this class.
    pub support: u32,
}

/// The result of comparing predictions with labels over all of [`DrumClass::ALL`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Number of examples.
    pub n: usize,
    pub top1: f64,
    /// Mean F1 over the classes that have support.
    pub macro_f1: f64,
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[truth][predicted]`, indexed by [`DrumClass::index`].
    pub confusion: Vec<Vec<u32>>,
}

/// Scores `predicted` against `truth` (same length).
///
/// # Panics
/// If the slices differ in length.
pub fn evaluate(truth: &[DrumClass], predicted: &[DrumClass]) -> Evaluation {
    assert_eq!(truth.len(), predicted.len(), "one prediction per label");
    let k = DrumClass::COUNT;
    let mut confusion = vec![vec![0u32; k]; k];
    for (t, p) in truth.iter().zip(predicted) {
        confusion[t.index()][p.index()] += 1;
    }
    let correct: u32 = (0..k).map(|i| confusion[i][i]).sum();
    let per_class: Vec<ClassMetrics> = DrumClass::ALL
        .iter()
        .map(|&class| {
            let i = class.index();
            let tp = confusion[i][i] as f64;
            let support: u32 = confusion[i].iter().sum();
            let predicted: u32 = confusion.iter().map(|row| row[i]).sum();
            let precision = if predicted > 0 { tp / predicted as f64 } else { 0.0 };
            let recall = if support > 0 { tp / support as f64 } else { 0.0 };
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            ClassMetrics { class, precision, recall, f1, support }
        })
        .collect();
    let with_support: Vec<&ClassMetrics> = per_class.iter().filter(|m| m.support > 0).collect();
    let macro_f1 = if with_support.is_empty() {
        0.0
    } else {
        with_support.iter().map(|m| m.f1).sum::<f64>() / with_support.len() as f64
    };
    Evaluation {
        n: truth.len(),
        top1: if truth.is_empty() { 0.0 } else { correct as f64 / truth.len() as f64 },
        macro_f1,
        per_class,
        confusion,
    }
}

impl fmt::Display for Evaluation {
    /// A per-class table, the headline figures, and the confusion matrix (rows: truth).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<11} {:>9} {:>7} {:>6} {:>7}", "class", "precision", "recall", "f1", "support")?;
        for m in &self.per_class {
            writeln!(
                f,
                "{:<11} {:>9.3} {:>7.3} {:>6.3} {:>7}",
                m.class.as_str(),
                m.precision,
                m.recall,
                m.f1,
                m.support
            )?;
        }
        writeln!(f, "top-1 accuracy {:.4}   macro-F1 {:.4}   (n = {})", self.top1, self.macro_f1, self.n)?;
        writeln!(f, "\nconfusion (rows: truth, columns: predicted)")?;
        write!(f, "{:<11}", "")?;
        for c in DrumClass::ALL {
            write!(f, " {:>4}", &c.as_str()[..c.as_str().len().min(4)])?;
        }
        writeln!(f)?;
        for (c, row) in DrumClass::ALL.iter().zip(&self.confusion) {
            write!(f, "{:<11}", c.as_str())?;
            for v in row {
                write!(f, " {v:>4}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DrumClass::*;

    #[test]
    fn hand_computed_example() {
        let truth = [Kick, Kick, Kick, Snare, Snare, Other];
        let pred = [Kick, Kick, Snare, Snare, Kick, Other];
        let e = evaluate(&truth, &pred);
        assert_eq!(e.n, 6);
        assert!((e.top1 - 4.0 / 6.0).abs() < 1e-12);
        let kick = &e.per_class[Kick.index()];
        assert!((kick.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((kick.recall - 2.0 / 3.0).abs() < 1e-12);
        let snare = &e.per_class[Snare.index()];
        assert!((snare.precision - 0.5).abs() < 1e-12 && (snare.recall - 0.5).abs() < 1e-12);
        // Macro over the three classes with support: (2/3 + 1/2 + 1) / 3.
        assert!((e.macro_f1 - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        assert_eq!(e.confusion[Kick.index()][Snare.index()], 1);
        assert_eq!(e.confusion[Snare.index()][Kick.index()], 1);
        let text = e.to_string();
        assert!(text.contains("top-1 accuracy 0.6667"));
    }
}
