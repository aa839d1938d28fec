//! One self-contained HTML page: inline CSS and SVG charts, no script, no font, no network
//! (a Content-Security-Policy forbids them, so even a missed escape could not run code).
//! Every string that comes from the input (crate names, paths, titles, evidence) is
//! attacker-controlled and goes through [`escape`].
//!
//! [`render`] is the page of one report (audit, recon, review, gate); the building blocks
//! ([`page`], [`table`], [`bar_chart`], [`line_chart`], [`tile`]) serve other pages (survey).

use super::Report;
use crate::finding::Severity;
use std::fmt::Write;

/// Text as HTML (element content and quoted attribute values alike).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no business in a report.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--accent:#2f6fdb;
--critical:#8e1b1b;--high:#d4351c;--medium:#e08a00;--low:#2f6fdb;--info:#6b7280;--ok:#1f8f4e}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9cfdb}
main{padding:20px 28px;max-width:1280px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:0 0 18px}
h2{font-size:16px;margin:0 0 12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px}
.tile{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fbfcfd}
.tile .v{font-size:22px;font-weight:600}.tile .k{color:var(--muted);font-size:12px}
.tile .d{color:var(--muted);font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:6px}
svg.chart{width:100%;height:auto;background:#fff}
svg.chart text{font:11px system-ui,sans-serif;fill:#5b6475}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.sev{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:12px}
.sev-critical{background:var(--critical)}.sev-high{background:var(--high)}
.sev-medium{background:var(--medium)}.sev-low{background:var(--low)}.sev-info{background:var(--info)}
.yes{color:var(--ok);font-weight:600}.no{color:var(--high);font-weight:600}.unknown{color:var(--muted)}
.muted{color:var(--muted)}.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
";

/// The whole page around `body` (already HTML).
pub fn page(title: &str, subtitle: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
<header><h1>{t}</h1><p>{s}</p></header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        t = escape(title),
        s = escape(subtitle),
    )
}

/// A section with a heading around `inner` (HTML).
pub fn section(id: &str, title: &str, inner: &str) -> String {
    format!(
        "<section id=\"{}\"><h2>{}</h2>\n{inner}</section>\n",
        escape(id),
        escape(title)
    )
}

/// A headline figure: key, value, detail (all text).
pub fn tile(key: &str, value: &str, detail: &str) -> String {
    format!(
        "<div class=\"tile\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"d\">{}</div></div>",
        escape(key),
        escape(value),
        escape(detail)
    )
}

/// A table cell: text, or HTML the caller built from escaped parts.
pub enum Cell {
    Text(String),
    Num(String),
    Html(String),
}

/// A table; `numeric` headers are right-aligned.
pub fn table(headers: &[(&str, bool)], rows: &[Vec<Cell>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for (h, num) in headers {
        let class = if *num { " class=\"num\"" } else { "" };
        let _ = write!(s, "<th{class}>{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in rows {
        s.push_str("<tr>");
        for c in row {
            match c {
                Cell::Text(t) => {
                    let _ = write!(s, "<td>{}</td>", escape(t));
                }
                Cell::Num(t) => {
                    let _ = write!(s, "<td class=\"num\">{}</td>", escape(t));
                }
                Cell::Html(h) => {
                    let _ = write!(s, "<td>{h}</td>");
                }
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

/// One data series of a chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub values: Vec<f64>,
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 14.0;

/// A rounded maximum for the y axis: four ticks of a round step (1, 2, 2.5 or 5 times a
/// power of ten), so that small counts get whole-number labels.
fn nice_max(max: f64) -> f64 {
    if max <= 4.0 {
        return 4.0;
    }
    let tick = max / 4.0;
    let mag = 10f64.powf(tick.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * mag >= tick {
            return 4.0 * step * mag;
        }
    }
    40.0 * mag
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// The frame of a chart: grid lines, y labels, x labels every few points.
fn frame(id: &str, title: &str, labels: &[String], ymax: f64, unit: &str) -> String {
    let mut s = format!(
        "<svg class=\"chart\" id=\"{}\" data-chart=\"{}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(id),
        escape(id),
        escape(title)
    );
    let plot_h = H - TOP - BOTTOM;
    for k in 0..=4 {
        let y = TOP + plot_h * (1.0 - f64::from(k) / 4.0);
        let v = ymax * f64::from(k) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{W}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e6e9ef\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}{}</text>",
            LEFT - 4.0,
            y + 4.0,
            fmt_num(v),
            escape(unit)
        );
    }
    let n = labels.len().max(1);
    let step = (n as f64 / 10.0).ceil().max(1.0) as usize;
    let slot = (W - LEFT) / n as f64;
    // Labels longer than their slot are cut (the bars' tooltips keep them whole).
    let fits = ((slot * f64::from(u32::try_from(step).unwrap_or(1))) / 6.5).max(4.0) as usize;
    for (i, l) in labels.iter().enumerate() {
        if i % step == 0 {
            let l = &if l.chars().count() > fits {
                let cut: String = l.chars().take(fits - 1).collect();
                format!("{cut}…")
            } else {
                l.clone()
            };
            let x = LEFT + slot * (i as f64 + 0.5);
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                H - BOTTOM + 16.0,
                escape(l)
            );
        }
    }
    s
}

fn legend(series: &[Series<'_>]) -> String {
    let mut s = String::from("<div class=\"legend\">");
    for x in series {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            escape(x.color),
            escape(x.name)
        );
    }
    s.push_str("</div>");
    s
}

/// A bar chart, the series stacked, one bar per label.
pub fn bar_chart(id: &str, title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let totals: Vec<f64> = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let ymax = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let mut s = format!("<figure><figcaption>{}</figcaption>", escape(title));
    s.push_str(&frame(id, title, labels, ymax, ""));
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT) / labels.len().max(1) as f64;
    let bar = (slot * 0.7).min(48.0);
    for (i, label) in labels.iter().enumerate() {
        let mut base = 0.0;
        let x = LEFT + slot * (i as f64 + 0.5) - bar / 2.0;
        for x_series in series {
            let v = x_series.values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let h = plot_h * v / ymax;
            let y = TOP + plot_h * (1.0 - base / ymax) - h;
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                escape(x_series.color),
                escape(label),
                fmt_num(v),
                escape(x_series.name)
            );
            base += v;
        }
    }
    s.push_str("</svg>");
    if series.len() > 1 {
        s.push_str(&legend(series));
    }
    s.push_str("</figure>\n");
    s
}

/// A line chart (one polyline per series, a dot per point); `unit` follows y labels.
pub fn line_chart(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    unit: &str,
) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let ymax = if unit == "%" { 100.0 } else { nice_max(max) };
    let mut s = format!("<figure><figcaption>{}</figcaption>", escape(title));
    s.push_str(&frame(id, title, labels, ymax, unit));
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT) / labels.len().max(1) as f64;
    for x_series in series {
        let points: Vec<(f64, f64)> = x_series
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    LEFT + slot * (i as f64 + 0.5),
                    TOP + plot_h * (1.0 - v / ymax),
                )
            })
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            s,
            "<polyline class=\"line\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            escape(x_series.color),
            path.join(" ")
        );
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"><title>{}: {}{}</title></circle>",
                escape(x_series.color),
                escape(labels.get(i).map_or("", String::as_str)),
                fmt_num(x_series.values[i]),
                escape(unit)
            );
        }
    }
    s.push_str("</svg>");
    if series.len() > 1 {
        s.push_str(&legend(series));
    }
    s.push_str("</figure>\n");
    s
}

/// A severity as a coloured badge.
pub fn severity_badge(s: Severity) -> String {
    format!("<span class=\"sev sev-{0}\">{0}</span>", s.as_str())
}

/// `yes` / `no` / `?` with its colour.
pub fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "<span class=\"yes\">yes</span>".into(),
        Some(false) => "<span class=\"no\">no</span>".into(),
        None => "<span class=\"unknown\">?</span>".into(),
    }
}

/// The page of one report: verdict and counts, a chart of findings by severity, the
/// findings table, the CI figures and (review, gate --base) the lockfile changes.
pub fn render(report: &Report) -> String {
    let sum = &report.summary;
    let target = report
        .target
        .workspace_root
        .as_deref()
        .or(report.target.lockfile.as_deref())
        .unwrap_or("");
    let mut body = String::new();
    let verdict = if sum.passed { "passed" } else { "failed" };
    let mut tiles = String::from("<div class=\"tiles\">");
    tiles.push_str(&tile(
        "verdict",
        verdict,
        &format!(
            "{} denied at or above {}",
            sum.denied,
            sum.deny_level.map_or("none", |d| d.as_str())
        ),
    ));
    tiles.push_str(&tile(
        "findings",
        &sum.total.to_string(),
        &format!("{} allowed, {} excepted", sum.allowed, sum.excepted),
    ));
    tiles.push_str(&tile(
        "packages",
        &report.target.package_count.to_string(),
        "in the locked graph",
    ));
    if let Some(ci) = &report.ci {
        tiles.push_str(&tile(
            "CI cargo calls with --locked",
            &ci.locked_percent
                .map_or("n/a".into(), |p| format!("{p:.1}%")),
            &format!(
                "{} of {} in {} files",
                ci.locked_invocations, ci.cargo_invocations, ci.files
            ),
        ));
    }
    if let Some(m) = &report.metrics {
        tiles.push_str(&tile(
            "stale dependencies",
            &m.stale_percent.map_or("n/a".into(), |p| format!("{p:.1}%")),
            &format!(
                "{} of {} dated; median age {}",
                m.stale,
                m.dated,
                m.median_age_days
                    .map_or("n/a".into(), |d| format!("{d} days"))
            ),
        ));
        tiles.push_str(&tile(
            "build-time code",
            &m.build_time_code.to_string(),
            &format!(
                "unsafe in {} of {} archives read",
                m.with_unsafe, m.archives_read
            ),
        ));
    }
    tiles.push_str("</div>\n");
    body.push_str(&section("summary", "Summary", &tiles));
    let sevs = [
        (Severity::Critical, sum.critical, "#8e1b1b"),
        (Severity::High, sum.high, "#d4351c"),
        (Severity::Medium, sum.medium, "#e08a00"),
        (Severity::Low, sum.low, "#2f6fdb"),
        (Severity::Info, sum.info, "#6b7280"),
    ];
    let labels: Vec<String> = sevs
        .iter()
        .map(|(s, _, _)| s.as_str().to_string())
        .collect();
    let series: Vec<Series<'_>> = sevs
        .iter()
        .enumerate()
        .map(|(i, (s, n, color))| {
            let mut values = vec![0.0; sevs.len()];
            values[i] = *n as f64;
            Series {
                name: s.as_str(),
                color,
                values,
            }
        })
        .collect();
    body.push_str(&section(
        "severity",
        "Findings by severity",
        &format!(
            "<div class=\"charts\">{}</div>",
            bar_chart("chart-severity", "Findings by severity", &labels, &series)
        ),
    ));
    body.push_str(&section("findings", "Findings", &findings_table(report)));
    if let Some(review) = &report.review
        && !review.changes.is_empty()
    {
        let rows: Vec<Vec<Cell>> = review
            .changes
            .iter()
            .map(|r| {
                vec![
                    Cell::Html(
                        r.risk
                            .map_or("<span class=\"muted\">none</span>".into(), severity_badge),
                    ),
                    Cell::Text(r.change.kind.as_str().into()),
                    Cell::Html(format!("<code>{}</code>", escape(&r.change.label()))),
                    Cell::Text(r.signals.join(", ")),
                ]
            })
            .collect();
        body.push_str(&section(
            "changes",
            "Lockfile changes",
            &table(
                &[
                    ("risk", false),
                    ("change", false),
                    ("package", false),
                    ("signals", false),
                ],
                &rows,
            ),
        ));
    }
    page(
        &format!("cargo reflex {}: {}", report.command, verdict),
        &format!(
            "{target} · {} · cargo-reflex {}",
            report.generated_at, report.tool.version
        ),
        &body,
    )
}

fn findings_table(report: &Report) -> String {
    if report.findings.is_empty() {
        return "<p class=\"muted\">No findings.</p>\n".into();
    }
    let rows: Vec<Vec<Cell>> = report
        .findings
        .iter()
        .map(|f| {
            let package = f
                .package
                .as_ref()
                .map(|p| format!("<code>{} {}</code>", escape(&p.name), escape(&p.version)))
                .unwrap_or_default();
            let mut detail = escape(&f.title);
            if !f.via.is_empty() {
                let _ = write!(
                    detail,
                    "<br><span class=\"muted\">via {}</span>",
                    escape(&f.via.join(" → "))
                );
            }
            if let Some(l) = &f.location {
                let _ = write!(
                    detail,
                    "<br><span class=\"muted\">at <code>{}</code></span>",
                    escape(&l.path)
                );
            }
            for e in f.evidence.iter().take(3) {
                let _ = write!(detail, "<br><span class=\"muted\">{}</span>", escape(e));
            }
            vec![
                Cell::Html(severity_badge(f.severity)),
                Cell::Html(format!("<code>{}</code>", escape(f.code))),
                Cell::Html(package),
                Cell::Html(detail),
                Cell::Text(f.remedy.clone().unwrap_or_default()),
                Cell::Html(if f.denied {
                    "<span class=\"no\">denied</span>".into()
                } else {
                    String::new()
                }),
            ]
        })
        .collect();
    table(
        &[
            ("severity", false),
            ("code", false),
            ("package", false),
            ("finding", false),
            ("remedy", false),
            ("", false),
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{CodeSpec, Finding, PackageRef};

    const CODE: CodeSpec = CodeSpec::new("test-code", Severity::High, "a test");

    #[test]
    fn attacker_controlled_strings_render_inert() {
        let mut report = Report::new("audit", "2026-11-30T00:00:00Z".into());
        let mut f = Finding::new("t", &CODE, "<script>alert(1)</script> in \"title\"");
        f.package = Some(PackageRef {
            name: "<script>alert('x')</script>".into(),
            version: "1.0.0\"><img src=x onerror=alert(1)>".into(),
            source: "registry".into(),
        });
        f.via = vec!["app</code><script>".into()];
        report.findings.push(f);
        let report = report.finish(Some(Severity::High));
        let html = render(&report);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains("<svg class=\"chart\" id=\"chart-severity\""));
        assert!(!html.contains("http://") || !html.contains("src=\"http"));
        assert_eq!(escape("a\u{0}b"), "a\u{FFFD}b");
        assert_eq!(
            (nice_max(0.0), nice_max(3.0), nice_max(5.0), nice_max(37.0)),
            (4.0, 4.0, 8.0, 40.0)
        );
    }
}
