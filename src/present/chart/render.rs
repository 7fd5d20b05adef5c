//! Draws a plot with plotters into an RGB buffer and encodes it as PNG.
//!
//! The font is embedded (DejaVu Sans) and registered once, so charts look the same on every
//! machine and never depend on system fonts.

use std::sync::OnceLock;

use plotters::chart::ChartContext;
use plotters::coord::Shift;
use plotters::coord::cartesian::Cartesian2d;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::present::chart::ChartError;
use crate::present::chart::axis::{Axis, Scale};
use crate::present::chart::data::{Bar, Line, Plot, XScale};
use crate::present::number;

pub(super) const WIDTH: u32 = 1000;
pub(super) const HEIGHT: u32 = 600;

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));

/// Space around the chart and between its parts, in pixels.
const MARGIN: u32 = 20;
const TITLE_SIZE: u32 = 22;
const LABEL_SIZE: u32 = 14;
/// The longest a category or legend name may be drawn, in pixels.
const NAME_WIDTH: u32 = 240;

const TEXT: RGBColor = RGBColor(45, 45, 45);
const MUTED: RGBColor = RGBColor(105, 105, 105);
const GRID: RGBColor = RGBColor(230, 230, 230);
const AXIS_LINE: RGBColor = RGBColor(160, 160, 160);
/// The colour of the "N others" bar or line: grey, so it does not compete with named ones.
const REST: RGBColor = RGBColor(186, 176, 172);
/// Tableau 10, without its grey: distinct, colour-blind-friendly, calm.
const PALETTE: [RGBColor; 9] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
];

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type Chart2d<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<Axis, Axis>>;
type Markers = Vec<Circle<(f64, f64), u32>>;

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(error.to_string())
    }
}

/// The plot as a PNG of `WIDTH` x `HEIGHT`, with `title` on top (cut to fit).
pub(super) fn draw(plot: &Plot, title: &str) -> Result<(Vec<u8>, u32, u32), ChartError> {
    register_embedded_font()?;
    let mut rgb = vec![255; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let title_style = text_style(TITLE_SIZE, &TEXT);
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        let title = fit(&root, &title, &title_style, WIDTH - 2 * MARGIN)?;
        root.draw_text(&title, &title_style, (MARGIN as i32, MARGIN as i32))?;
        let mut top = MARGIN + TITLE_SIZE + MARGIN;
        if let Plot::Line { lines, .. } = plot
            && lines.len() > 1
        {
            top += draw_legend(&root, lines, top)? + MARGIN / 2;
        }
        let area = root.margin(top, MARGIN / 2, MARGIN / 2, MARGIN + 10);
        match plot {
            Plot::Line {
                x_scale,
                x_name,
                y_name,
                lines,
            } => draw_lines(&area, *x_scale, x_name, y_name, lines)?,
            Plot::Bar {
                category_name,
                value_name,
                bars,
            } => draw_bars(&area, category_name, value_name, bars)?,
            Plot::Scatter {
                x_name,
                y_name,
                points,
            } => draw_scatter(&area, x_name, y_name, points)?,
        }
        root.present()?;
    }
    Ok((encode(&rgb)?, WIDTH, HEIGHT))
}

fn register_embedded_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered =
        REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if *registered {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

fn text_style(size: u32, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(color)
}

fn draw_lines(
    area: &Area<'_>,
    x_scale: XScale,
    x_name: &str,
    y_name: &str,
    lines: &[Line],
) -> Result<(), ChartError> {
    let points = || lines.iter().flat_map(|line| line.points.iter());
    let (x_lo, x_hi) = padded(min_max(points().map(|p| p.0)), 0.02);
    let (scale, x_lo, x_hi, label_width) = match x_scale {
        XScale::Time => {
            let whole_days = points().all(|p| p.0.rem_euclid(86_400.0) == 0.0);
            (Scale::Time { whole_days }, x_lo, x_hi, 110)
        }
        // Whole units get half a unit of room so the first and last points are not on the edge.
        XScale::Calendar(unit) => (
            Scale::Calendar(unit),
            x_lo.min(x_lo.ceil() - 0.5),
            x_hi.max(x_hi.floor() + 0.5),
            60,
        ),
    };
    let (plot_width, plot_height) = area.dim_in_pixel();
    let x_axis = Axis::new(x_lo, x_hi, scale, (plot_width / label_width) as usize);
    let x_name = match x_axis.context() {
        Some(context) => format!("{x_name} ({context})"),
        None => x_name.to_owned(),
    };
    let x_name = x_name.as_str();
    let value_axis = |right: bool| {
        let values = lines
            .iter()
            .filter(|line| line.right_axis == right)
            .flat_map(|line| line.points.iter().map(|p| p.1));
        let (lo, hi) = value_range(values);
        Axis::new(lo, hi, Scale::Number, (plot_height / 60) as usize)
    };
    let names = |right: bool| {
        let names: Vec<&str> = lines
            .iter()
            .filter(|line| line.right_axis == right)
            .map(|line| line.name.as_str())
            .collect();
        names.join(", ")
    };
    let colors = lines
        .iter()
        .enumerate()
        .map(|(i, line)| series_color(i, line.is_rest));

    if !lines.iter().any(|line| line.right_axis) {
        // One line names the value axis; several are named by the legend.
        let y_desc = if lines.len() == 1 { y_name } else { "" };
        let mut chart = build(area, x_axis, value_axis(false), y_desc, None)?;
        draw_mesh(&mut chart, x_name, y_desc, true)?;
        for (line, color) in lines.iter().zip(colors) {
            let (stroke, markers) = line_elements(line, color);
            chart.draw_series(stroke)?;
            chart.draw_series(markers)?;
        }
        return Ok(());
    }
    let (left_desc, right_axis, right_desc) = (names(false), value_axis(true), names(true));
    let right = Some((&right_axis, right_desc.as_str()));
    let chart = build(area, x_axis.clone(), value_axis(false), &left_desc, right)?;
    // The secondary coordinates take over the right label area, so they come first.
    let mut chart = chart.set_secondary_coord(x_axis, right_axis.clone());
    draw_mesh(&mut chart, x_name, &left_desc, true)?;
    chart
        .configure_secondary_axes()
        .label_style(text_style(LABEL_SIZE, &TEXT))
        .axis_desc_style(text_style(LABEL_SIZE, &MUTED))
        .axis_style(AXIS_LINE)
        .y_desc(right_desc.as_str())
        .draw()?;
    for (line, color) in lines.iter().zip(colors) {
        let (stroke, markers) = line_elements(line, color);
        if line.right_axis {
            chart.draw_secondary_series(stroke)?;
            chart.draw_secondary_series(markers)?;
        } else {
            chart.draw_series(stroke)?;
            chart.draw_series(markers)?;
        }
    }
    Ok(())
}

/// A line's stroke, and markers where its points are few enough to show one by one (a lone
/// point is only a marker).
fn line_elements<DB: DrawingBackend>(
    line: &Line,
    color: RGBColor,
) -> (LineSeries<DB, (f64, f64)>, Markers) {
    let stroke = LineSeries::new(line.points.iter().copied(), color.stroke_width(2));
    let markers = if line.points.len() <= 40 {
        line.points
            .iter()
            .map(|&point| Circle::new(point, 3, color.filled()))
            .collect()
    } else {
        Vec::new()
    };
    (stroke, markers)
}

fn draw_bars(
    area: &Area<'_>,
    category_name: &str,
    value_name: &str,
    bars: &[Bar],
) -> Result<(), ChartError> {
    let label_style = text_style(LABEL_SIZE, &TEXT);
    let names = bars
        .iter()
        .map(|bar| fit(area, &bar.label, &label_style, NAME_WIDTH))
        .collect::<Result<Vec<_>, _>>()?;
    let n_bars = bars.len();
    // An "others" bar far longer than the named ones would squash them: the axis is scaled
    // to the named bars, and the long bar is drawn broken at the axis end.
    let named = || bars.iter().filter(|bar| !bar.is_rest).map(|bar| bar.value);
    let (named_lo, named_hi) = min_max(named());
    let (lo, hi) = match bars.iter().find(|bar| bar.is_rest) {
        Some(rest) if named_hi > 0.0 && rest.value > 2.0 * named_hi => (named_lo, named_hi),
        _ => min_max(bars.iter().map(|bar| bar.value)),
    };
    // Bars start at zero; the extra room holds the value printed beside each bar.
    let room = (hi.max(0.0) - lo.min(0.0)).max(f64::MIN_POSITIVE) * 0.14;
    let x_lo = if lo < 0.0 { lo - room } else { 0.0 };
    let x_hi = if hi > 0.0 { hi + room } else { 0.0 };
    let (plot_width, plot_height) = area.dim_in_pixel();
    let x_axis = Axis::new(x_lo, x_hi, Scale::Number, (plot_width / 110) as usize);
    let y_axis = Axis::new(-0.5, n_bars as f64 - 0.5, Scale::Category(names), n_bars);
    let mut chart = build(area, x_axis, y_axis, category_name, None)?;
    draw_mesh(&mut chart, value_name, category_name, false)?;
    if x_lo < 0.0 {
        let zero = [(0.0, -0.5), (0.0, n_bars as f64 - 0.5)];
        chart.draw_series([PathElement::new(zero, AXIS_LINE.stroke_width(1))])?;
    }

    // The first bar is at the top; a few bars stay slim rather than fill the height.
    let position = |i: usize| (n_bars - 1 - i) as f64;
    let half = (18.0 * n_bars as f64 / f64::from(plot_height.max(1))).min(0.36);
    let value_style = text_style(LABEL_SIZE - 1, &MUTED);
    for (i, bar) in bars.iter().enumerate() {
        let y = position(i);
        let color = if bar.is_rest { REST } else { PALETTE[0] };
        let end = bar.value.clamp(x_lo, x_hi);
        chart.draw_series([Rectangle::new(
            [(0.0, y - half), (end, y + half)],
            color.filled(),
        )])?;
        let broken = end != bar.value;
        // A white slash near a broken bar's end marks that it goes on; its value goes
        // inside, before the slash.
        let mut label_at = end;
        if broken {
            let slash_at = end - (x_hi - x_lo) * 0.03 * end.signum();
            let slash_end = slash_at + (x_hi - x_lo) * 0.01;
            let slash = [(slash_at, y - half * 1.4), (slash_end, y + half * 1.4)];
            chart.draw_series([PathElement::new(slash, WHITE.stroke_width(4))])?;
            label_at = slash_at;
        }
        let (offset, anchor) = match (broken, bar.value < 0.0) {
            (false, false) | (true, true) => (6, HPos::Left),
            (false, true) | (true, false) => (-8, HPos::Right),
        };
        let style = if broken {
            text_style(LABEL_SIZE - 1, &TEXT)
        } else {
            value_style.clone()
        };
        chart.draw_series([EmptyElement::at((label_at, y))
            + Text::new(
                number::compact(bar.value),
                (offset, 0),
                style.pos(Pos::new(anchor, VPos::Center)),
            )])?;
    }
    Ok(())
}

fn draw_scatter(
    area: &Area<'_>,
    x_name: &str,
    y_name: &str,
    points: &[(f64, f64)],
) -> Result<(), ChartError> {
    let (x_lo, x_hi) = padded(min_max(points.iter().map(|p| p.0)), 0.05);
    let (y_lo, y_hi) = padded(min_max(points.iter().map(|p| p.1)), 0.05);
    let (plot_width, plot_height) = area.dim_in_pixel();
    let x_axis = Axis::new(x_lo, x_hi, Scale::Number, (plot_width / 100) as usize);
    let y_axis = Axis::new(y_lo, y_hi, Scale::Number, (plot_height / 60) as usize);
    let mut chart = build(area, x_axis, y_axis, y_name, None)?;
    draw_mesh(&mut chart, x_name, y_name, true)?;
    // Many points overlap: smaller and more transparent dots keep dense areas readable.
    let (radius, alpha) = if points.len() > 2_000 {
        (2, 0.35)
    } else {
        (4, 0.7)
    };
    let color = PALETTE[0].mix(alpha);
    chart.draw_series(
        points
            .iter()
            .map(|&point| Circle::new(point, radius, color.filled())),
    )?;
    Ok(())
}

/// A chart whose value-label areas are as wide as their widest labels; `right` is a second
/// value axis and its name.
fn build<'a, 'b>(
    area: &'a Area<'b>,
    x_axis: Axis,
    y_axis: Axis,
    y_desc: &str,
    right: Option<(&Axis, &str)>,
) -> Result<Chart2d<'a, 'b>, ChartError> {
    let room = |axis: &Axis, desc: &str| -> Result<u32, ChartError> {
        let label_style = text_style(LABEL_SIZE, &TEXT);
        let mut widest = 0;
        for text in axis.tick_texts() {
            widest = widest.max(area.estimate_text_size(&text, &label_style)?.0);
        }
        let desc_room = if desc.is_empty() { 0 } else { LABEL_SIZE + 16 };
        Ok(widest + 14 + desc_room)
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .x_label_area_size(LABEL_SIZE * 2 + 28)
        .y_label_area_size(room(&y_axis, y_desc)?);
    if let Some((axis, desc)) = right {
        builder.right_y_label_area_size(room(axis, desc)?);
    }
    Ok(builder.build_cartesian_2d(x_axis, y_axis)?)
}

fn draw_mesh(
    chart: &mut Chart2d<'_, '_>,
    x_desc: &str,
    y_desc: &str,
    horizontal_grid: bool,
) -> Result<(), ChartError> {
    // Tick labels come from the axes themselves (`ValueFormatter for Axis`).
    let mut mesh = chart.configure_mesh();
    mesh.label_style(text_style(LABEL_SIZE, &TEXT))
        .axis_desc_style(text_style(LABEL_SIZE, &MUTED))
        .bold_line_style(GRID)
        .axis_style(AXIS_LINE)
        .x_desc(x_desc)
        .y_desc(y_desc);
    if !horizontal_grid {
        mesh.disable_y_mesh();
    }
    mesh.draw()?;
    Ok(())
}

/// Draws one entry per line (a swatch and its name), wrapping onto more rows if needed;
/// returns the height used.
fn draw_legend(root: &Area<'_>, lines: &[Line], top: u32) -> Result<u32, ChartError> {
    let style = text_style(LABEL_SIZE, &TEXT);
    let row_height = LABEL_SIZE + 8;
    let (mut x, mut y) = (MARGIN, top);
    for (i, line) in lines.iter().enumerate() {
        let name = fit(root, &line.name, &style, NAME_WIDTH)?;
        let name = if line.right_axis {
            format!("{name} (right axis)")
        } else {
            name
        };
        let (text_width, _) = root.estimate_text_size(&name, &style)?;
        let entry_width = 22 + text_width + 24;
        if x > MARGIN && x + entry_width > WIDTH - MARGIN {
            x = MARGIN;
            y += row_height;
        }
        let middle = (y + LABEL_SIZE / 2) as i32 - 1;
        let color = series_color(i, line.is_rest);
        root.draw(&Rectangle::new(
            [(x as i32, middle - 2), (x as i32 + 16, middle + 2)],
            color.filled(),
        ))?;
        root.draw_text(&name, &style, (x as i32 + 22, y as i32))?;
        x += entry_width;
    }
    Ok(y + row_height - top)
}

fn series_color(i: usize, is_rest: bool) -> RGBColor {
    if is_rest {
        REST
    } else {
        PALETTE[i % PALETTE.len()]
    }
}

/// `text`, or as much of its start as fits in `max_width` pixels followed by `…`.
fn fit(
    area: &Area<'_>,
    text: &str,
    style: &TextStyle<'_>,
    max_width: u32,
) -> Result<String, ChartError> {
    let fits = |candidate: &str| -> Result<bool, ChartError> {
        Ok(area.estimate_text_size(candidate, style)?.0 <= max_width)
    };
    if fits(text)? {
        return Ok(text.to_owned());
    }
    let chars: Vec<char> = text.chars().collect();
    let cut = |n: usize| -> String {
        let start: String = chars[..n].iter().collect();
        format!("{}…", start.trim_end())
    };
    // The longest start that fits, by bisection: text width grows with length.
    let (mut shortest_too_long, mut longest_fitting) = (chars.len(), 0);
    while shortest_too_long - longest_fitting > 1 {
        let middle = (shortest_too_long + longest_fitting) / 2;
        if fits(&cut(middle))? {
            longest_fitting = middle;
        } else {
            shortest_too_long = middle;
        }
    }
    Ok(cut(longest_fitting))
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// The range widened by `share` of its span on each side; a single value gets room around it.
fn padded((lo, hi): (f64, f64), share: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        let room = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - room, hi + room);
    }
    let room = (hi - lo) * share;
    (lo - room, hi + room)
}

/// The value axis of a line chart: the values with some room, from zero when zero is near
/// enough that including it does not flatten the lines.
fn value_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = min_max(values);
    let (lo, hi) = if lo >= 0.0 && lo <= hi / 2.0 {
        (0.0, hi)
    } else if hi <= 0.0 && hi >= lo / 2.0 {
        (lo, 0.0)
    } else {
        (lo, hi)
    };
    let (padded_lo, padded_hi) = padded((lo, hi), 0.05);
    // Zero stays the edge when it is one: counts never dip below it.
    (
        if lo == 0.0 { 0.0 } else { padded_lo },
        if hi == 0.0 && lo < 0.0 {
            0.0
        } else {
            padded_hi
        },
    )
}

fn encode(rgb: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::present::ChartKind;
    use crate::present::chart::{choose, render_png};
    use crate::present::tests::table;

    /// Renders the chart `choose` picks for the table, decodes the PNG, and checks that it is
    /// a picture of the expected size with a drawn plot. With `PRESENT_SAMPLES=<dir>` set, it
    /// also saves the PNG there as `<name>.png`, to look at.
    #[track_caller]
    fn check(name: &str, input: &str, title: &str, kind: ChartKind) {
        let (columns, rows) = table(input);
        let spec = choose(&columns, &rows).expect("a chart");
        let chart = render_png(&spec, &columns, &rows, title).expect("renders");
        assert_eq!(chart.kind, kind);
        assert_eq!((chart.width, chart.height), (WIDTH, HEIGHT));
        if let Some(dir) = std::env::var_os("PRESENT_SAMPLES") {
            std::fs::create_dir_all(&dir).expect("sample folder");
            let path = std::path::Path::new(&dir).join(format!("{name}.png"));
            std::fs::write(path, &chart.png).expect("sample written");
        }

        let decoder = png::Decoder::new(std::io::Cursor::new(&chart.png));
        let mut reader = decoder.read_info().expect("png header");
        let mut pixels = vec![0; reader.output_buffer_size().expect("buffer size")];
        let frame = reader.next_frame(&mut pixels).expect("png data");
        assert_eq!((frame.width, frame.height), (WIDTH, HEIGHT));
        assert_eq!(frame.color_type, png::ColorType::Rgb);
        let pixel = |x: u32, y: u32| {
            let at = (y * WIDTH + x) as usize * 3;
            (pixels[at], pixels[at + 1], pixels[at + 2])
        };
        let colours: HashSet<_> = (0..HEIGHT)
            .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
            .map(|(x, y)| pixel(x, y))
            .collect();
        assert!(colours.len() > 50, "{name}: only {} colours", colours.len());
        // The plot area (inside the axes): something besides background and grid is drawn.
        let inked = (150..WIDTH - 60)
            .flat_map(|x| (130..HEIGHT - 80).map(move |y| (x, y)))
            .filter(|&(x, y)| {
                let (r, g, b) = pixel(x, y);
                r.max(g).max(b) - r.min(g).min(b) > 40
            })
            .count();
        assert!(
            inked > 2_000,
            "{name}: only {inked} coloured pixels in the plot"
        );
    }

    fn rows(n: usize, row: impl Fn(usize) -> String) -> String {
        (0..n).map(row).collect::<Vec<_>>().join(" | ")
    }

    fn date(day: usize) -> chrono::NaiveDate {
        let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
        start + chrono::Duration::days(day as i64)
    }

    #[test]
    fn line_charts_render() {
        let daily = rows(120, |i| {
            let revenue = 40_000.0 + 15_000.0 * (i as f64 / 9.0).sin() + 300.0 * i as f64;
            let orders = 300 + (i * 7) % 90;
            format!("{}, {revenue:.2}, {orders}", date(i))
        });
        check(
            "line-two-series",
            &format!("day:date, revenue:dec, orders:int | {daily}"),
            "What were daily revenue and order counts since January?",
            ChartKind::Line,
        );
        let regions = ["North America", "Europe", "Asia Pacific", "Latin America"];
        let monthly = rows(24 * regions.len(), |i| {
            let (month, region) = (i / regions.len(), i % regions.len());
            let year = 2023 + month / 12;
            let sales = (region + 1) * 120_000 + month * 9_000 * (region + 1);
            format!("{year}-{:02}, {}, {sales}", month % 12 + 1, regions[region])
        });
        check(
            "line-split-by-region",
            &format!("month:unknown, region:text, sales:int | {monthly}"),
            "Monthly sales by region for the last two years, as a trend",
            ChartKind::Line,
        );
        let yearly = rows(15, |i| format!("{}, {}", 2010 + i, 1_000 + i * i * 37));
        check(
            "line-years",
            &format!("year:int, customers:int | {yearly}"),
            "New customers per year",
            ChartKind::Line,
        );
        let hourly = rows(48, |i| {
            format!(
                "2024-03-01 {:02}:{:02}, {}",
                i / 2,
                (i % 2) * 30,
                (i * 13) % 50
            )
        });
        check(
            "line-hours",
            &format!("at:ts, signups:int | {hourly}"),
            "Signups every half hour on March 1st",
            ChartKind::Line,
        );
        let months = rows(12, |i| {
            format!(
                "{}, {}, {}",
                i + 1,
                2_000_000 + i * 150_000,
                1_800_000 + i * i * 20_000
            )
        });
        check(
            "line-months",
            &format!("month:int, this_year:int, last_year:int | {months}"),
            "Revenue per month, this year against last year",
            ChartKind::Line,
        );
        let year_months = rows(30, |i| {
            format!(
                "{}, {}, {}",
                2022 + i / 12,
                i % 12 + 1,
                -5.0 + i as f64 * 0.7
            )
        });
        check(
            "line-year-month",
            &format!("yr:dec, mon:unknown, margin_pct:float | {year_months}"),
            "Monthly margin since 2022",
            ChartKind::Line,
        );
    }

    #[test]
    fn bar_charts_render() {
        let products = rows(40, |i| {
            format!(
                "Product {i} with a rather long descriptive name number {i}, {}",
                (i * 7_919) % 100_000
            )
        });
        check(
            "bar-top-and-others",
            &format!("product:text, revenue:dec | {products}"),
            "Which products brought in the most revenue last quarter, and how much did each of them make compared to the rest of the catalogue?",
            ChartKind::Bar,
        );
        check(
            "bar-few-with-negative",
            "team:text, balance:float | Support, 1200.5 | Sales, -350 | Engineering, 2750 | Ops, 80",
            "Balance per team",
            ChartKind::Bar,
        );
    }

    #[test]
    fn scatter_charts_render() {
        let points = rows(400, |i| {
            let price = 5.0 + (i * 37 % 200) as f64;
            let sold = 5_000.0 / price + (i * 13 % 17) as f64;
            format!("{price}, {sold:.1}")
        });
        check(
            "scatter",
            &format!("price:float, units_sold:float | {points}"),
            "How does price relate to units sold?",
            ChartKind::Scatter,
        );
    }

    #[test]
    fn long_names_are_cut_to_fit() {
        let mut rgb = vec![255; WIDTH as usize * HEIGHT as usize * 3];
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        register_embedded_font().expect("font");
        let style = text_style(LABEL_SIZE, &TEXT);
        let check = |text: &str, max_width: u32, expected: &str| {
            assert_eq!(fit(&root, text, &style, max_width).expect("fits"), expected);
        };
        check("short", 200, "short");
        check(
            "a rather long name that does not fit",
            120,
            "a rather long nam…",
        );
        check("", 10, "");
    }
}
