//! Decode -> features -> batched inference over many files: the pipeline behind
//! `drumsort classify`, library scans and the plugin's worker.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::classifier::{Classifier, Features, ModelError, Prediction};
use crate::decode::{decode_file, AudioInfo, DecodeError, DecodeOptions, DecodeWarning};

/// Files decoded in parallel before each batched inference: enough to keep every core busy,
/// few enough that memory stays flat however large the library.
pub const CHUNK: usize = 256;

/// What decoding one file gives the analysis: its facts, the decoder's warnings, the model input.
type Decoded = (AudioInfo, Vec<DecodeWarning>, Features);

/// What Drumsort learned about one readable file.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub info: AudioInfo,
    pub warnings: Vec<DecodeWarning>,
    pub prediction: Prediction,
}

/// Why one file has no analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalyseError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl AnalyseError {
    /// Short machine-readable kind (`corrupt`, `not_audio`, ..., `model`).
    pub fn kind(&self) -> &'static str {
        match self {
            AnalyseError::Decode(e) => e.kind(),
            AnalyseError::Model(_) => "model",
        }
    }
}

/// Decode options matching what `classifier` looks at.
pub fn decode_options(classifier: &Classifier) -> DecodeOptions {
    DecodeOptions {
        target_rate: classifier.meta().features.sample_rate,
        max_seconds: classifier.meta().analysis_seconds,
        ..DecodeOptions::default()
    }
}

/// Analyses `paths` in chunks; `on_done(n)` is called after each chunk with its size (progress
/// bars). Results are in input order; one bad file never stops the others.
pub fn analyse_paths(
    classifier: &Classifier,
    paths: &[PathBuf],
    mut on_done: impl FnMut(usize),
) -> Vec<Result<Analysis, AnalyseError>> {
    let opts = decode_options(classifier);
    let mut out = Vec::with_capacity(paths.len());
    for chunk in paths.chunks(CHUNK) {
        let decoded: Vec<Result<Decoded, DecodeError>> = chunk
            .par_iter()
            .map(|p| decode_file(p, &opts).map(|d| (d.info, d.warnings, classifier.features(&d.samples))))
            .collect();
        let feats: Vec<Features> = decoded.iter().filter_map(|r| r.as_ref().ok().map(|(_, _, f)| f.clone())).collect();
        match classifier.predict(&feats) {
            Ok(preds) => {
                let mut preds = preds.into_iter();
                for r in decoded {
                    out.push(match r {
                        Ok((info, warnings, _)) => match preds.next() {
                            Some(prediction) => Ok(Analysis { info, warnings, prediction }),
                            None => Err(AnalyseError::Model(ModelError::Inference(
                                "the model returned fewer predictions than clips".into(),
                            ))),
                        },
                        Err(e) => Err(e.into()),
                    });
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for r in decoded {
                    out.push(match r {
                        Ok(_) => Err(AnalyseError::Model(ModelError::Inference(msg.clone()))),
                        Err(e) => Err(e.into()),
                    });
                }
            }
        }
        on_done(chunk.len());
    }
    out
}
