//! The daily chart of the portal's dashboard and the console's overview and reports:
//! clicks and conversions per day (lines, left axis) and the commission per day (bars,
//! right axis), drawn as SVG on the server by `plotters`. Every value is an integer
//! (counts, minor units of money), so nothing is computed in floating point; the axis
//! labels format money the way the pages do.

use plotters::prelude::*;
use upline_domain::money::{Currency, format_minor};
use upline_domain::usecases::reports::DayFigures;

const WIDTH: u32 = 760;
const HEIGHT: u32 = 320;
const CLICKS: RGBColor = RGBColor(31, 95, 191);
const CONVERSIONS: RGBColor = RGBColor(29, 107, 54);
const COMMISSION: RGBColor = RGBColor(230, 159, 0);

/// The chart as an inline `<svg>` with a title naming what it shows, or `None` if it
/// could not be drawn (the day-by-day table below it carries the same figures).
pub fn daily(days: &[DayFigures], currency: Currency, caption: &str) -> Option<String> {
    let mut svg = String::new();
    draw(&mut svg, days, currency).ok()?;
    // An image to assistive technology, named by its title; the table is its long form.
    let title = format!(
        "<title id=\"chart-title\">{}</title>",
        caption.replace('&', "&amp;").replace('<', "&lt;")
    );
    let open = svg.find("<svg")?;
    let close = open + svg[open..].find('>')?;
    svg.replace_range(
        open..=close,
        &format!(
            "{} role=\"img\" aria-labelledby=\"chart-title\" class=\"chart\">{title}",
            &svg[open..close]
        ),
    );
    Some(svg)
}

fn draw(
    out: &mut String,
    days: &[DayFigures],
    currency: Currency,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = i32::try_from(days.len()).unwrap_or(i32::MAX);
    let most = |f: fn(&DayFigures) -> i64| days.iter().map(f).max().unwrap_or(0);
    // Headroom above the highest value, and never an empty range.
    let headroom = |top: i64| top + top / 10 + 1;
    let count_top = headroom(most(|d| d.clicks.max(d.conversions))).max(4);
    let money_top = headroom(most(|d| d.commission_minor)).max(100);
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(48)
        .right_y_label_area_size(64)
        // One segment per day: bars fill it, line points sit at its centre.
        .build_cartesian_2d((0..n).into_segmented(), 0..count_top)?
        .set_secondary_coord((0..n).into_segmented(), 0..money_top);
    let day_label = |v: &SegmentValue<i32>| {
        let (SegmentValue::Exact(i) | SegmentValue::CenterOf(i)) = v else {
            return String::new();
        };
        usize::try_from(*i)
            .ok()
            .and_then(|i| days.get(i))
            .map(|d| d.day.to_string()[5..].to_string())
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(7)
        .x_label_formatter(&day_label)
        .y_labels(5)
        .y_desc("Clicks and conversions")
        .label_style(("sans-serif", 14))
        .draw()?;
    let money_label = |m: &i64| format_minor(*m, currency);
    chart
        .configure_secondary_axes()
        .y_labels(5)
        .y_label_formatter(&money_label)
        .y_desc(format!("Commission ({currency})"))
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_secondary_series(days.iter().zip(0..).map(|(d, i)| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0),
                    (SegmentValue::Exact(i + 1), d.commission_minor),
                ],
                COMMISSION.filled(),
            );
            bar.set_margin(0, 0, 2, 2);
            bar
        }))?
        .label(format!("Commission ({currency})"))
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], COMMISSION.filled()));
    chart
        .draw_series(LineSeries::new(
            days.iter()
                .zip(0..)
                .map(|(d, i)| (SegmentValue::CenterOf(i), d.clicks)),
            CLICKS.stroke_width(2),
        ))?
        .label("Clicks")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], CLICKS.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            days.iter()
                .zip(0..)
                .map(|(d, i)| (SegmentValue::CenterOf(i), d.conversions)),
            CONVERSIONS.stroke_width(2),
        ))?
        .label("Conversions")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], CONVERSIONS.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use upline_domain::clock::Day;

    #[test]
    fn the_chart_has_axes_a_legend_and_a_title() {
        let usd = Currency::from_code("USD").unwrap();
        let start = Day::parse("2026-11-01").unwrap();
        let mut day = start;
        let days: Vec<DayFigures> = (0..30)
            .map(|i| {
                let d = DayFigures {
                    day,
                    clicks: i * 3,
                    conversions: i / 5,
                    commission_minor: i * 125,
                };
                day = day.next();
                d
            })
            .collect();
        let svg = daily(&days, usd, "Clicks, conversions and commission per day").unwrap();
        assert!(svg.contains("role=\"img\" aria-labelledby=\"chart-title\""));
        assert!(svg.contains(
            "<title id=\"chart-title\">Clicks, conversions and commission per day</title>"
        ));
        for label in [
            "Clicks",
            "Conversions",
            "Commission (USD)",
            "Clicks and conversions",
        ] {
            assert!(
                svg.contains(&format!(">{label}<")) || svg.contains(&format!(">\n{label}")),
                "{label}"
            );
        }
        assert!(svg.contains("11-01"), "dates on the x axis");
        assert!(
            svg.contains("30.00") || svg.contains("20.00"),
            "money on the right axis"
        );
        // An empty period still draws its axes.
        let quiet: Vec<DayFigures> = days
            .iter()
            .map(|d| DayFigures {
                clicks: 0,
                conversions: 0,
                commission_minor: 0,
                ..*d
            })
            .collect();
        assert!(daily(&quiet, usd, "t").is_some());
    }
}
