//! Server-drawn SVG bar charts. The geometry is computed here and the template
//! (`templates/chart.html`) only places shapes and text, escaping every label like any other
//! value, so a chart holds no markup built from data. Every chart has both axes, tick labels,
//! category labels, axis titles and, for several series, a legend.

/// A line segment (an axis or a grid line).
pub struct Seg {
    pub x1: i32,
    pub y1: i32,
    pub x2: i32,
    pub y2: i32,
}

/// A text label; `rotate` turns it to run up the y axis.
pub struct Label {
    pub x: i32,
    pub y: i32,
    pub text: String,
    pub anchor: &'static str,
    pub rotate: bool,
}

/// One bar (or a segment of a stacked bar); `tip` is its tooltip.
pub struct Bar {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub class: String,
    pub tip: String,
}

/// A legend entry: a swatch and its text.
pub struct LegendItem {
    pub x: i32,
    pub y: i32,
    pub class: String,
    pub text: String,
}

/// A chart ready to be drawn.
pub struct Chart {
    pub id: String,
    pub title: String,
    pub width: i32,
    pub height: i32,
    pub axes: Vec<Seg>,
    pub grid: Vec<Seg>,
    pub ticks: Vec<Label>,
    pub labels: Vec<Label>,
    pub titles: Vec<Label>,
    pub bars: Vec<Bar>,
    pub legend: Vec<LegendItem>,
    /// Shown in the plot when there is nothing to draw.
    pub empty: Option<Label>,
}

impl Chart {
    /// Say `text` in the plot area when the chart has no bars.
    pub fn or_empty(mut self, text: &str) -> Chart {
        if self.bars.is_empty() {
            let (x0, x1) = (self.axes[0].x1, self.axes[1].x2);
            let (y0, y1) = (self.axes[0].y1, self.axes[0].y2);
            self.empty = Some(Label {
                x: (x0 + x1) / 2,
                y: (y0 + y1) / 2,
                text: text.to_string(),
                anchor: "middle",
                rotate: false,
            });
        }
        self
    }
}

/// One data series.
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// Names of the axes, and whether the values are whole numbers (counts).
pub struct Axes<'a> {
    pub x: &'a str,
    pub y: &'a str,
    pub whole: bool,
}

const WIDTH: i32 = 640;
const LEFT: i32 = 56;
const RIGHT: i32 = 16;
const TOP: i32 = 16;
const BOTTOM: i32 = 52;

/// The smallest "nice" maximum ≥ `max` (1, 2 or 5 times a power of ten per step, five steps or
/// so) and its step.
fn scale(max: f64, whole: bool) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let step = if whole { step.max(1.0) } else { step };
    ((max / step).ceil() * step, step)
}

fn number(v: f64, step: f64) -> String {
    if step >= 1.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Height of one legend row.
const LEGEND_ROW: i32 = 18;

/// The legend, in rows from `top` down, wrapped at the chart's width.
fn legend(series: &[Series], top: i32) -> Vec<LegendItem> {
    if series.len() < 2 {
        return Vec::new();
    }
    let (mut x, mut y) = (LEFT, top);
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // Swatch, gap and an estimate of the text's width (wide for CJK).
            let chars: i32 = s
                .name
                .chars()
                .map(|c| if c.is_ascii() { 6 } else { 12 })
                .sum();
            let width = 16 + chars + 16;
            if x > LEFT && x + width > WIDTH - RIGHT {
                x = LEFT;
                y += LEGEND_ROW;
            }
            let item = LegendItem {
                x,
                y,
                class: format!("s{i}"),
                text: s.name.clone(),
            };
            x += width;
            item
        })
        .collect()
}

/// A vertical bar chart over `categories`: series side by side, or stacked.
pub fn vertical(
    id: &str,
    title: &str,
    axes: Axes<'_>,
    categories: &[String],
    series: &[Series],
    stacked: bool,
) -> Chart {
    let height = 280;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = height - TOP - BOTTOM;
    let base = TOP + plot_h;
    let n = categories.len().max(1) as i32;
    let max = (0..categories.len())
        .map(|i| {
            let vals = series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0));
            if stacked {
                vals.sum()
            } else {
                vals.fold(0.0, f64::max)
            }
        })
        .fold(0.0, f64::max);
    let (top, step) = scale(max, axes.whole);
    let y_of = |v: f64| base - (v / top * f64::from(plot_h)).round() as i32;
    let mut chart = frame(id, title, height, plot_h);
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let y = y_of(v);
        chart.grid.push(Seg {
            x1: LEFT,
            y1: y,
            x2: LEFT + plot_w,
            y2: y,
        });
        chart.ticks.push(Label {
            x: LEFT - 6,
            y: y + 4,
            text: number(v, step),
            anchor: "end",
            rotate: false,
        });
        v += step;
    }
    let cw = plot_w / n;
    for (i, cat) in categories.iter().enumerate() {
        let x0 = LEFT + cw * i as i32;
        chart.labels.push(Label {
            x: x0 + cw / 2,
            y: base + 16,
            text: cat.clone(),
            anchor: "middle",
            rotate: false,
        });
        let mut stack = 0.0;
        let per = if stacked {
            1
        } else {
            series.len().max(1) as i32
        };
        let bw = ((cw * 7 / 10) / per).max(1);
        let start = x0 + (cw - bw * per) / 2;
        for (k, s) in series.iter().enumerate() {
            let value = s.values.get(i).copied().unwrap_or(0.0);
            if value <= 0.0 {
                continue;
            }
            let (lo, hi) = if stacked {
                (stack, stack + value)
            } else {
                (0.0, value)
            };
            stack += value;
            let x = if stacked {
                start
            } else {
                start + bw * k as i32
            };
            let (y_hi, y_lo) = (y_of(hi), y_of(lo));
            chart.bars.push(Bar {
                x,
                y: y_hi,
                w: bw,
                h: (y_lo - y_hi).max(1),
                class: format!("s{k}"),
                tip: format!("{cat} · {}: {}", s.name, number(value, step.min(0.5))),
            });
        }
    }
    chart.titles = axis_titles(axes, LEFT, plot_w, plot_h, height);
    // The legend goes under the axis title; the chart grows by its rows.
    chart.legend = legend(series, height + 4);
    if let Some(last) = chart.legend.last() {
        chart.height = last.y + LEGEND_ROW;
    }
    chart
}

/// A horizontal bar chart: one bar per labelled item (long labels such as root-cause ids).
pub fn horizontal(id: &str, title: &str, axes: Axes<'_>, items: &[(String, f64)]) -> Chart {
    const LABELS: i32 = 300;
    const ROW: i32 = 24;
    let rows = items.len().max(1) as i32;
    let plot_w = WIDTH - LABELS - RIGHT;
    let plot_h = rows * ROW;
    let height = TOP + plot_h + BOTTOM;
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max);
    let (top, step) = scale(max, axes.whole);
    let x_of = |v: f64| LABELS + (v / top * f64::from(plot_w)).round() as i32;
    let mut chart = frame(id, title, height, plot_h);
    chart.axes = vec![
        Seg {
            x1: LABELS,
            y1: TOP,
            x2: LABELS,
            y2: TOP + plot_h,
        },
        Seg {
            x1: LABELS,
            y1: TOP + plot_h,
            x2: LABELS + plot_w,
            y2: TOP + plot_h,
        },
    ];
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let x = x_of(v);
        chart.grid.push(Seg {
            x1: x,
            y1: TOP,
            x2: x,
            y2: TOP + plot_h,
        });
        chart.ticks.push(Label {
            x,
            y: TOP + plot_h + 16,
            text: number(v, step),
            anchor: "middle",
            rotate: false,
        });
        v += step;
    }
    for (i, (label, value)) in items.iter().enumerate() {
        let y = TOP + ROW * i as i32;
        chart.labels.push(Label {
            x: LABELS - 8,
            y: y + ROW / 2 + 4,
            text: label.clone(),
            anchor: "end",
            rotate: false,
        });
        chart.bars.push(Bar {
            x: LABELS,
            y: y + 4,
            w: (x_of(*value) - LABELS).max(1),
            h: ROW - 8,
            class: "s0".into(),
            tip: format!("{label}: {}", number(*value, step)),
        });
    }
    chart.titles = axis_titles(axes, LABELS, plot_w, plot_h, height);
    chart
}

/// An empty chart with the two axes of a vertical chart.
fn frame(id: &str, title: &str, height: i32, plot_h: i32) -> Chart {
    let base = TOP + plot_h;
    Chart {
        id: id.to_string(),
        title: title.to_string(),
        width: WIDTH,
        height,
        axes: vec![
            Seg {
                x1: LEFT,
                y1: TOP,
                x2: LEFT,
                y2: base,
            },
            Seg {
                x1: LEFT,
                y1: base,
                x2: WIDTH - RIGHT,
                y2: base,
            },
        ],
        grid: Vec::new(),
        ticks: Vec::new(),
        labels: Vec::new(),
        titles: Vec::new(),
        bars: Vec::new(),
        legend: Vec::new(),
        empty: None,
    }
}

/// The x title centred under a plot that starts `left` pixels in, the y title turned up beside it.
fn axis_titles(axes: Axes<'_>, left: i32, plot_w: i32, plot_h: i32, height: i32) -> Vec<Label> {
    vec![
        Label {
            x: left + plot_w / 2,
            y: height - 10,
            text: axes.x.to_string(),
            anchor: "middle",
            rotate: false,
        },
        Label {
            x: 14,
            y: TOP + plot_h / 2,
            text: axes.y.to_string(),
            anchor: "middle",
            rotate: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round_and_cover_the_maximum() {
        assert_eq!(scale(0.0, false), (1.0, 0.2));
        assert_eq!(scale(0.0, true), (1.0, 1.0));
        assert_eq!(scale(7.0, true), (8.0, 2.0));
        assert_eq!(scale(10_000.0, true), (10_000.0, 2_000.0));
        assert_eq!(scale(3.0, true), (3.0, 1.0));
    }

    #[test]
    fn stacked_bars_share_one_column_and_reach_the_sum() {
        let series = [
            Series {
                name: "a".into(),
                values: vec![2.0, 0.0],
            },
            Series {
                name: "b".into(),
                values: vec![2.0, 1.0],
            },
        ];
        let c = vertical(
            "c",
            "t",
            Axes {
                x: "x",
                y: "y",
                whole: true,
            },
            &["w1".into(), "w2".into()],
            &series,
            true,
        );
        assert_eq!(c.bars.len(), 3, "zero values draw nothing");
        assert_eq!(c.bars[0].x, c.bars[1].x);
        assert_eq!(c.bars[1].y + c.bars[1].h, c.bars[0].y);
        assert_eq!(c.legend.len(), 2);
        assert!(
            c.legend[0].y > c.axes[0].y2,
            "the legend sits under the plot"
        );
        assert!(c.height > c.legend[0].y);
        assert_eq!(c.labels.len(), 2);
        assert_eq!(c.axes.len(), 2);
    }

    #[test]
    fn a_long_legend_wraps_inside_the_chart() {
        let series: Vec<Series> = (0..6)
            .map(|i| Series {
                name: format!("dependent-service-not-running-advanced-installer-{i}"),
                values: vec![1.0],
            })
            .collect();
        let items = legend(&series, 300);
        assert!(items.iter().map(|i| i.y).max() > Some(300), "wrapped");
        assert!(items.iter().all(|i| i.x < WIDTH - RIGHT));
    }
}
