//! The confusion matrix as a PNG heat map with class labels (plotters, bitmap backend).

use std::path::Path;

use anyhow::Result;
use drumsort_core::DrumClass;
use plotters::prelude::*;

use crate::metrics::Evaluation;

/// Draws `eval`'s confusion matrix, rows normalised by support, counts printed in each cell.
pub fn write(eval: &Evaluation, path: &Path) -> Result<()> {
    // plotters' ab_glyph backend draws only registered fonts; egui's bundled Ubuntu font needs
    // nothing from the system.
    plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
        .map_err(|_| anyhow::anyhow!("cannot load the bundled font"))?;
    let k = DrumClass::COUNT as i32;
    let root = BitMapBackend::new(path, (900, 820)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("Drumsort confusion (rows: truth)  top-1 {:.3}  macro-F1 {:.3}", eval.top1, eval.macro_f1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(90)
        .y_label_area_size(90)
        .build_cartesian_2d((0..k).into_segmented(), (0..k).into_segmented())?;
    // Segmented axes put each label at the centre of its cell.
    let name = |v: i32| DrumClass::from_index(v as usize).map_or(String::new(), |c| c.as_str().to_string());
    let centre = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => Some(*i),
        _ => None,
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(k as usize)
        .y_labels(k as usize)
        .x_label_formatter(&|v| centre(v).map_or(String::new(), name))
        .y_label_formatter(&|v| centre(v).map_or(String::new(), |i| name(k - 1 - i)))
        .x_desc("predicted")
        .y_desc("truth")
        .x_label_style(("sans-serif", 13).into_font().transform(FontTransform::Rotate90))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (t, row) in eval.confusion.iter().enumerate() {
        let support: u32 = row.iter().sum();
        for (p, &n) in row.iter().enumerate() {
            let frac = if support > 0 { n as f64 / support as f64 } else { 0.0 };
            let y = k - 1 - t as i32;
            let shade = (255.0 * (1.0 - frac)) as u8;
            let colour =
                if t == p { RGBColor(shade, 255 - (255 - shade) / 3, shade) } else { RGBColor(255, shade, shade) };
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(p as i32), SegmentValue::Exact(y)),
                    (SegmentValue::Exact(p as i32 + 1), SegmentValue::Exact(y + 1)),
                ],
                colour.filled(),
            )))?;
            if n > 0 {
                let style = ("sans-serif", 14).into_font().color(if frac > 0.6 { &WHITE } else { &BLACK });
                chart.draw_series(std::iter::once(Text::new(
                    n.to_string(),
                    (SegmentValue::CenterOf(p as i32), SegmentValue::CenterOf(y)),
                    style,
                )))?;
            }
        }
    }
    root.present()?;
    Ok(())
}
