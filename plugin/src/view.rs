//! The editor's view settings that persist with the DAW project: zoom, pan, filters, selection
//! and the open tab. Saved by the host through the `#[persist = "view"]` field of the params;
//! read and written by the GUI thread only.

use std::path::PathBuf;

use drumsort_core::class::DrumClass;
use serde::{Deserialize, Serialize};

/// Which page of the editor is showing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// The bubble graph of the sample library.
    #[default]
    Library,
    /// The lane of labelled hits on the track.
    Hits,
}

/// Zoom, pan, filters and selection of the bubble graph, plus the open tab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewState {
    /// Graph zoom: screen points per world unit, relative to "fit everything" (1.0).
    pub zoom: f32,
    /// Graph pan in world units (the world point at the centre of the view).
    pub pan: [f32; 2],
    /// Classes the user filtered out.
    pub hidden: Vec<DrumClass>,
    /// Text filter on file names (case-insensitive substring); empty shows all.
    pub query: String,
    /// The selected sample, if any.
    pub selected: Option<PathBuf>,
    /// The open page.
    pub tab: Tab,
}

impl Default for ViewState {
    fn default() -> Self {
        Self { zoom: 1.0, pan: [0.0, 0.0], hidden: Vec::new(), query: String::new(), selected: None, tab: Tab::Library }
    }
}

/// Graph zoom limits (1.0 = everything fits).
pub const MIN_ZOOM: f32 = 0.3;
pub const MAX_ZOOM: f32 = 200.0;
/// Largest pan kept from a saved view, world units (the whole layout spans a few hundred).
const MAX_PAN: f32 = 1.0e5;
/// Longest text filter kept from a saved view, characters.
const MAX_QUERY_CHARS: usize = 256;

impl ViewState {
    /// The view made safe to draw, whatever a saved session (or a damaged one) held: zoom inside
    /// its limits (1.0 if not a number), pan finite and bounded (0 if not), the text filter cut
    /// to a sane length, each hidden class once.
    pub fn sanitized(mut self) -> Self {
        self.zoom = if self.zoom.is_finite() { self.zoom.clamp(MIN_ZOOM, MAX_ZOOM) } else { 1.0 };
        for p in &mut self.pan {
            *p = if p.is_finite() { p.clamp(-MAX_PAN, MAX_PAN) } else { 0.0 };
        }
        if let Some((cut, _)) = self.query.char_indices().nth(MAX_QUERY_CHARS) {
            self.query.truncate(cut);
        }
        self.hidden.sort();
        self.hidden.dedup();
        self
    }

    /// Whether a sample of `class` named `name` passes the class and text filters.
    pub fn shows(&self, class: DrumClass, name: &str) -> bool {
        !self.hidden.contains(&class)
            && (self.query.is_empty() || name.to_lowercase().contains(&self.query.to_lowercase()))
    }

    /// The filters prepared for testing many samples (the query lower-cased once).
    pub fn filter(&self) -> Filter {
        let mut hidden = [false; DrumClass::COUNT];
        for class in &self.hidden {
            hidden[class.index()] = true;
        }
        Filter { hidden, query: self.query.trim().to_lowercase() }
    }

    /// Shows or hides `class` in the graph.
    pub fn toggle_class(&mut self, class: DrumClass) {
        if let Some(i) = self.hidden.iter().position(|&c| c == class) {
            self.hidden.remove(i);
        } else {
            self.hidden.push(class);
            self.hidden.sort();
        }
    }
}

/// A [`ViewState`]'s class and text filters, prepared once per change so the bubble graph can
/// test thousands of samples without allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Whether each class (by [`DrumClass::index`]) is hidden.
    hidden: [bool; DrumClass::COUNT],
    /// The lower-cased, trimmed text filter.
    query: String,
}

impl Filter {
    /// Whether a sample of `class` whose lower-cased file name is `lower_name` passes.
    pub fn shows(&self, class: DrumClass, lower_name: &str) -> bool {
        !self.hidden[class.index()] && (self.query.is_empty() || lower_name.contains(&self.query))
    }

    /// Whether `class` is shown at all.
    pub fn shows_class(&self, class: DrumClass) -> bool {
        !self.hidden[class.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_views_are_drawable() {
        let wild = ViewState {
            zoom: f32::NAN,
            pan: [f32::INFINITY, -3.0e30],
            hidden: vec![DrumClass::Tom, DrumClass::Kick, DrumClass::Tom],
            query: "é".repeat(10_000),
            ..ViewState::default()
        }
        .sanitized();
        assert_eq!(wild.zoom, 1.0);
        assert_eq!(wild.pan, [0.0, -MAX_PAN]);
        assert_eq!(wild.hidden, vec![DrumClass::Kick, DrumClass::Tom]);
        assert_eq!(wild.query.chars().count(), MAX_QUERY_CHARS);
        assert_eq!(ViewState { zoom: 1e9, ..ViewState::default() }.sanitized().zoom, MAX_ZOOM);
        assert_eq!(ViewState::default().sanitized(), ViewState::default());
    }

    #[test]
    fn filters_by_class_and_text() {
        let mut v = ViewState { hidden: vec![DrumClass::Kick], query: "Snr".into(), ..ViewState::default() };
        assert!(!v.shows(DrumClass::Kick, "snr_01.wav"));
        assert!(v.shows(DrumClass::Snare, "Big_SNR_01.wav"));
        assert!(!v.shows(DrumClass::Snare, "snare.wav"));
        v.query.clear();
        assert!(v.shows(DrumClass::Snare, "snare.wav"));
    }

    #[test]
    fn prepared_filter_agrees_with_shows_and_toggles() {
        let mut v = ViewState { query: " Snr ".into(), ..ViewState::default() };
        v.toggle_class(DrumClass::Kick);
        let f = v.filter();
        assert!(!f.shows(DrumClass::Kick, "snr_01.wav"));
        assert!(f.shows(DrumClass::Snare, "big_snr_01.wav"));
        assert!(!f.shows(DrumClass::Snare, "snare.wav"));
        assert!(!f.shows_class(DrumClass::Kick) && f.shows_class(DrumClass::Tom));
        v.toggle_class(DrumClass::Kick);
        assert!(v.hidden.is_empty());
    }

    #[test]
    fn round_trips_through_json_and_tolerates_missing_fields() {
        let v = ViewState {
            zoom: 2.5,
            pan: [1.0, -2.0],
            selected: Some("/a/b.wav".into()),
            tab: Tab::Hits,
            ..ViewState::default()
        };
        let back: ViewState = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, v);
        let old: ViewState = serde_json::from_str(r#"{"zoom": 3.0}"#).unwrap();
        assert_eq!(old.zoom, 3.0);
        assert_eq!(old.tab, Tab::Library);
    }
}
