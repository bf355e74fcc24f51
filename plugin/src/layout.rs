//! The bubble graph's layout: where each sample's dot and each class's bubble go in graph
//! ("world") coordinates. Run by the worker whenever the library changes, never on the GUI thread.
//!
//! Per class, the samples' unit embeddings are projected to 2D on their first two principal
//! components (power iteration, deterministic start), spread evenly over a disc whose area is
//! proportional to the class's sample count, and nudged apart so no two dots sit on each other.
//! The class discs are then packed without overlap, biggest first, each at the spot nearest the
//! centre where it touches the discs already placed.

use drumsort_core::class::DrumClass;

use crate::shared::{ClassBubble, SampleDot};

/// Radius of a bubble holding one sample, world units; a bubble of `n` samples has radius
/// `UNIT_RADIUS * sqrt(n)`, so each dot gets about the same area.
pub const UNIT_RADIUS: f32 = 1.0;
/// Free space kept between two bubbles, world units.
pub const BUBBLE_GAP: f32 = 1.5;
/// Dots stay inside this fraction of their bubble's radius, leaving the rim for the label.
const INNER: f32 = 0.88;
/// Dots closer than this (world units) are pushed apart.
const MIN_DOT_DISTANCE: f32 = 0.55;
/// Power iterations per principal component.
const POWER_ITERATIONS: usize = 24;
/// Relaxation passes that push overlapping dots apart.
const RELAX_PASSES: usize = 4;

/// Lays out `samples` (positions written into [`SampleDot::pos`]) and returns one bubble per
/// class that has samples, in [`DrumClass::ALL`] order.
///
/// `embeddings[i]` is the embedding of `samples[i]`; a sample without one (the slice is shorter,
/// or its vector is empty) is placed by its order instead. The result depends only on the inputs.
pub fn layout(samples: &mut [SampleDot], embeddings: &[Vec<f32>]) -> Vec<ClassBubble> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); DrumClass::COUNT];
    for (i, s) in samples.iter().enumerate() {
        members[s.class.index()].push(i);
    }
    let mut bubbles: Vec<ClassBubble> = Vec::new();
    // Dot positions relative to their bubble's centre, per class.
    let mut local: Vec<Vec<[f32; 2]>> = vec![Vec::new(); DrumClass::COUNT];
    for class in DrumClass::ALL {
        let idx = &members[class.index()];
        if idx.is_empty() {
            continue;
        }
        let radius = UNIT_RADIUS * (idx.len() as f32).sqrt();
        let vectors: Vec<&[f32]> = idx.iter().map(|&i| embeddings.get(i).map_or(&[][..], Vec::as_slice)).collect();
        let mut points = disc_positions(&vectors);
        for p in &mut points {
            *p = [p[0] * radius * INNER, p[1] * radius * INNER];
        }
        relax(&mut points, radius * INNER);
        local[class.index()] = points;
        bubbles.push(ClassBubble { class, center: [0.0, 0.0], radius, count: idx.len() });
    }
    pack(&mut bubbles);
    for b in &bubbles {
        for (&i, p) in members[b.class.index()].iter().zip(&local[b.class.index()]) {
            samples[i].pos = [b.center[0] + p[0], b.center[1] + p[1]];
        }
    }
    bubbles
}

/// Positions in the unit disc for one class's embeddings: the angle of each point's 2D principal
/// projection is kept, its radius replaced by its rank so the disc fills evenly (area-uniform)
/// while neighbours in the projection stay neighbours.
fn disc_positions(vectors: &[&[f32]]) -> Vec<[f32; 2]> {
    let n = vectors.len();
    let dim = vectors.iter().map(|v| v.len()).max().unwrap_or(0);
    let usable = dim > 0 && vectors.iter().all(|v| v.len() == dim);
    let projected = if usable && n > 1 { project_2d(vectors, dim) } else { None };
    let Some(projected) = projected else {
        return (0..n).map(|k| sunflower(k, n)).collect();
    };
    let radii: Vec<f32> = projected.iter().map(|p| p[0].hypot(p[1])).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| radii[a].total_cmp(&radii[b]).then(a.cmp(&b)));
    let mut out = vec![[0.0; 2]; n];
    for (rank, &i) in order.iter().enumerate() {
        let r = ((rank as f32 + 0.5) / n as f32).sqrt();
        let angle = projected[i][1].atan2(projected[i][0]);
        out[i] = [r * angle.cos(), r * angle.sin()];
    }
    out
}

/// The `k`-th of `n` points of a sunflower (golden-angle) spiral filling the unit disc evenly.
fn sunflower(k: usize, n: usize) -> [f32; 2] {
    const GOLDEN_ANGLE: f32 = 2.399_963;
    let r = ((k as f32 + 0.5) / n as f32).sqrt();
    let a = k as f32 * GOLDEN_ANGLE;
    [r * a.cos(), r * a.sin()]
}

/// Coordinates of each (centred) vector on the first two principal components, or `None` when
/// the vectors do not vary.
fn project_2d(vectors: &[&[f32]], dim: usize) -> Option<Vec<[f32; 2]>> {
    let n = vectors.len();
    let mut mean = vec![0.0f32; dim];
    for v in vectors {
        for (m, x) in mean.iter_mut().zip(v.iter()) {
            *m += x;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f32);
    let centred: Vec<f32> = vectors.iter().flat_map(|v| v.iter().zip(&mean).map(|(x, m)| x - m)).collect();
    let rows = || centred.chunks_exact(dim);
    let first = principal_component(rows, dim, None)?;
    // A second component may not exist (points on a line): then the projection is 1D.
    let second = principal_component(rows, dim, Some(&first)).unwrap_or_else(|| vec![0.0; dim]);
    Some(rows().map(|r| [dot(r, &first), dot(r, &second)]).collect())
}

/// The leading eigenvector of the rows' covariance (orthogonal to `exclude`), by power iteration
/// from a fixed start; `None` if the rows have (almost) no variance in that subspace.
fn principal_component<'a, I>(rows: impl Fn() -> I, dim: usize, exclude: Option<&[f32]>) -> Option<Vec<f32>>
where
    I: Iterator<Item = &'a [f32]>,
{
    // A fixed, non-symmetric start so no component is orthogonal to it by construction.
    let mut v: Vec<f32> = (0..dim).map(|i| 1.0 + ((i * 7919) % 13) as f32 / 13.0).collect();
    let mut next = vec![0.0f32; dim];
    let mut norm = 0.0;
    for _ in 0..POWER_ITERATIONS {
        if let Some(e) = exclude {
            let along = dot(&v, e);
            v.iter_mut().zip(e).for_each(|(x, y)| *x -= along * y);
        }
        norm = normalise(&mut v);
        if norm < 1e-12 {
            return None;
        }
        next.iter_mut().for_each(|x| *x = 0.0);
        for r in rows() {
            let s = dot(r, &v);
            next.iter_mut().zip(r).for_each(|(x, y)| *x += s * y);
        }
        std::mem::swap(&mut v, &mut next);
    }
    if let Some(e) = exclude {
        let along = dot(&v, e);
        v.iter_mut().zip(e).for_each(|(x, y)| *x -= along * y);
    }
    // `norm` of the last multiply is the eigenvalue estimate; a tiny one means no variance.
    let eigen = normalise(&mut v);
    (eigen > 1e-9 && norm > 0.0).then_some(v)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scales `v` to unit length, returning its old length.
fn normalise(v: &mut [f32]) -> f32 {
    let len = dot(v, v).sqrt();
    if len > 0.0 {
        v.iter_mut().for_each(|x| *x /= len);
    }
    len
}

/// Pushes dots closer than [`MIN_DOT_DISTANCE`] apart (pairs found through a uniform grid) and
/// keeps them within `limit` of the centre.
fn relax(points: &mut [[f32; 2]], limit: f32) {
    let cell = MIN_DOT_DISTANCE;
    let side = ((2.0 * limit / cell).ceil() as usize + 2).max(1);
    let cell_of = |p: [f32; 2]| -> (usize, usize) {
        let c = |x: f32| (((x + limit) / cell).floor().max(0.0) as usize).min(side - 1);
        (c(p[0]), c(p[1]))
    };
    let mut heads = vec![usize::MAX; side * side];
    let mut next = vec![usize::MAX; points.len()];
    for _ in 0..RELAX_PASSES {
        heads.iter_mut().for_each(|h| *h = usize::MAX);
        for (i, &p) in points.iter().enumerate() {
            let (cx, cy) = cell_of(p);
            next[i] = heads[cy * side + cx];
            heads[cy * side + cx] = i;
        }
        for i in 0..points.len() {
            let (cx, cy) = cell_of(points[i]);
            for gy in cy.saturating_sub(1)..=(cy + 1).min(side - 1) {
                for gx in cx.saturating_sub(1)..=(cx + 1).min(side - 1) {
                    let mut j = heads[gy * side + gx];
                    while j != usize::MAX {
                        if j > i {
                            separate(points, i, j);
                        }
                        j = next[j];
                    }
                }
            }
        }
        for p in points.iter_mut() {
            let r = p[0].hypot(p[1]);
            if r > limit {
                *p = [p[0] * limit / r, p[1] * limit / r];
            }
        }
    }
}

/// Moves dots `i` and `j` apart to [`MIN_DOT_DISTANCE`] if they are closer.
fn separate(points: &mut [[f32; 2]], i: usize, j: usize) {
    let (a, b) = (points[i], points[j]);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let d = dx.hypot(dy);
    if d >= MIN_DOT_DISTANCE {
        return;
    }
    // Coincident dots part along a direction fixed by their indices, so the result stays
    // deterministic.
    let (ux, uy) = if d > 1e-6 {
        (dx / d, dy / d)
    } else {
        let a = (i * 31 + j * 17) as f32;
        (a.cos(), a.sin())
    };
    let push = (MIN_DOT_DISTANCE - d) * 0.5;
    points[i] = [a[0] - ux * push, a[1] - uy * push];
    points[j] = [b[0] + ux * push, b[1] + uy * push];
}

/// Places the bubbles without overlap: biggest first at the origin, each next one at the
/// candidate spot (touching one or two placed bubbles) nearest the origin that overlaps none.
/// Finally centres the whole picture's bounding box on the origin.
fn pack(bubbles: &mut [ClassBubble]) {
    let mut order: Vec<usize> = (0..bubbles.len()).collect();
    order.sort_by(|&a, &b| bubbles[b].radius.total_cmp(&bubbles[a].radius).then(a.cmp(&b)));
    let mut placed: Vec<([f32; 2], f32)> = Vec::with_capacity(bubbles.len());
    for &k in &order {
        let r = bubbles[k].radius;
        let center = if placed.is_empty() { [0.0, 0.0] } else { best_spot(&placed, r) };
        bubbles[k].center = center;
        placed.push((center, r));
    }
    let (mut min, mut max) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for b in bubbles.iter() {
        for d in 0..2 {
            min[d] = min[d].min(b.center[d] - b.radius);
            max[d] = max[d].max(b.center[d] + b.radius);
        }
    }
    let mid = [(min[0] + max[0]) * 0.5, (min[1] + max[1]) * 0.5];
    for b in bubbles.iter_mut() {
        b.center = [b.center[0] - mid[0], b.center[1] - mid[1]];
    }
}

/// The non-overlapping spot for a bubble of radius `r` nearest the origin among the spots that
/// touch two placed bubbles, or one placed bubble at one of 16 angles.
fn best_spot(placed: &[([f32; 2], f32)], r: f32) -> [f32; 2] {
    let fits =
        |c: [f32; 2]| placed.iter().all(|&(p, pr)| (c[0] - p[0]).hypot(c[1] - p[1]) >= pr + r + BUBBLE_GAP * 0.999);
    let mut best: Option<([f32; 2], f32)> = None;
    let mut consider = |c: [f32; 2]| {
        let d = c[0].hypot(c[1]);
        if best.is_none_or(|(_, bd)| d < bd) && fits(c) {
            best = Some((c, d));
        }
    };
    for (i, &(a, ar)) in placed.iter().enumerate() {
        for step in 0..16 {
            let angle = step as f32 * std::f32::consts::TAU / 16.0;
            let d = ar + r + BUBBLE_GAP;
            consider([a[0] + d * angle.cos(), a[1] + d * angle.sin()]);
        }
        for &(b, br) in &placed[i + 1..] {
            for c in tangent_points(a, ar + r + BUBBLE_GAP, b, br + r + BUBBLE_GAP) {
                consider(c);
            }
        }
    }
    // Right of everything placed always fits.
    let right = placed.iter().map(|&(p, pr)| p[0] + pr).fold(f32::NEG_INFINITY, f32::max);
    best.map_or([right + r + BUBBLE_GAP, 0.0], |(c, _)| c)
}

/// The intersections of the circles of radius `ra` about `a` and `rb` about `b` (none, or two).
fn tangent_points(a: [f32; 2], ra: f32, b: [f32; 2], rb: f32) -> Vec<[f32; 2]> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let d = dx.hypot(dy);
    if d < 1e-6 || d > ra + rb || d < (ra - rb).abs() {
        return Vec::new();
    }
    let along = (ra * ra - rb * rb + d * d) / (2.0 * d);
    let h = (ra * ra - along * along).max(0.0).sqrt();
    let (mx, my) = (a[0] + along * dx / d, a[1] + along * dy / d);
    vec![[mx - h * dy / d, my + h * dx / d], [mx + h * dy / d, my - h * dx / d]]
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
