//! Drawing a laid-out [`Diagram`]: one SVG inside one HTML page that needs nothing else. Styles
//! are inline, fonts are the reader's own monospace, and there is no script, link or image, so
//! the file opens the same offline, from a CI artifact, or attached to a ticket. Every element
//! carries its kind as a class and what it stands for as `data-*` attributes.

use std::fmt::Write;

use super::layout::{
    GROUP_TITLE_SIZE, LABEL_LINE_HEIGHT, LABEL_SIZE, LINE_HEIGHT, LINE_SIZE, Layout, PAD_X, PAD_Y, Rect, TITLE_HEIGHT,
    TITLE_SIZE,
};
use super::model::{Diagram, EdgeKind, NodeKind};

/// Text around the picture.
pub struct Page<'a> {
    pub title: &'a str,
    /// Paragraphs under the title (plain text).
    pub notes: &'a [String],
}

/// Escapes text for XML and HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 has no representation for most control characters.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn data_attributes(data: &[(&'static str, String)]) -> String {
    data.iter().map(|(name, value)| format!(" data-{name}=\"{}\"", escape(value))).collect()
}

fn num(value: f64) -> String {
    // Two decimals are plenty for a screen and keep the file small and stable.
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == rounded.trunc() { format!("{}", rounded as i64) } else { format!("{rounded}") }
}

/// An SVG path through `points` as a B-spline (the shape Graphviz and dagre-d3 draw), which
/// follows a layered layout's bends smoothly and ends exactly on the last point.
fn spline(points: &[(f64, f64)]) -> String {
    let p = |(x, y): (f64, f64)| format!("{},{}", num(x), num(y));
    match points {
        [] => String::new(),
        [only] => format!("M{}", p(*only)),
        [a, b] => format!("M{}L{}", p(*a), p(*b)),
        [first, second, rest @ ..] => {
            let mut d = format!("M{}", p(*first));
            let (mut a, mut b) = (*first, *second);
            let _ = write!(d, "L{}", p(((5.0 * a.0 + b.0) / 6.0, (5.0 * a.1 + b.1) / 6.0)));
            let curve = |a: (f64, f64), b: (f64, f64), c: (f64, f64), d: &mut String| {
                let _ = write!(
                    d,
                    "C{} {} {}",
                    p(((2.0 * a.0 + b.0) / 3.0, (2.0 * a.1 + b.1) / 3.0)),
                    p(((a.0 + 2.0 * b.0) / 3.0, (a.1 + 2.0 * b.1) / 3.0)),
                    p(((a.0 + 4.0 * b.0 + c.0) / 6.0, (a.1 + 4.0 * b.1 + c.1) / 6.0)),
                );
            };
            for &c in rest {
                curve(a, b, c, &mut d);
                a = b;
                b = c;
            }
            curve(a, b, b, &mut d);
            let _ = write!(d, "L{}", p(b));
            d
        }
    }
}

/// The colour of each kind of arrow, for the line and its arrowhead.
fn edge_colour(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Start | EdgeKind::Next | EdgeKind::End => "#37474f",
        EdgeKind::Choice => "#e65100",
        EdgeKind::Default => "#e65100",
        EdgeKind::Catch => "#c62828",
        EdgeKind::Branch => "#6a1b9a",
        EdgeKind::Uses => "#1565c0",
        EdgeKind::Reference => "#9e9e9e",
    }
}

const STYLE: &str = r#"
body { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; margin: 16px; color: #212121; background: #fff; }
h1 { font-size: 20px; margin: 0 0 6px 0; }
p.note { font-size: 13px; margin: 2px 0; color: #424242; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 12px; margin: 10px 0 14px 0; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.picture { overflow: auto; border: 1px solid #e0e0e0; margin-top: 6px; }
label[for=fit] { font-size: 12px; }
#fit:checked ~ .picture svg { width: 100%; height: auto; }
svg text { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; fill: #212121; }
.group > rect { fill: none; stroke: #9e9e9e; stroke-width: 1; rx: 8; }
.group.workflow > rect { fill: #fafafa; stroke: #546e7a; stroke-width: 1.5; }
.group.parallel > rect, .group.map > rect { fill: #f3e5f5; stroke: #8e24aa; }
.group.branch > rect { fill: #fff; stroke: #ba68c8; stroke-dasharray: 4 3; }
.group.network > rect { fill: #f1f8e9; stroke: #7cb342; }
.group.zone > rect { fill: #fff; stroke: #9ccc65; stroke-dasharray: 4 3; }
.group.service > rect { fill: #fffde7; stroke: #f9a825; }
.group-title { font-weight: bold; fill: #455a64; }
.node > rect { stroke-width: 1.2; }
.node.state > rect { fill: #e3f2fd; stroke: #1e88e5; rx: 6; }
.node.state.choice > rect { fill: #fff3e0; stroke: #fb8c00; }
.node.state.succeed > rect { fill: #e8f5e9; stroke: #43a047; }
.node.state.fail > rect { fill: #ffebee; stroke: #e53935; }
.node.state.pass > rect, .node.state.wait > rect { fill: #f5f5f5; stroke: #757575; }
.node.state.parallel > rect, .node.state.map > rect { fill: #ede7f6; stroke: #7b1fa2; }
.node.state.missing > rect { fill: #ffebee; stroke: #b71c1c; stroke-dasharray: 3 2; }
.node.resource > rect { fill: #fff; stroke: #616161; rx: 2; }
.node.start > rect, .node.end > rect { fill: #37474f; stroke: #37474f; }
.node.start text, .node.end text { fill: #fff; font-weight: bold; }
.node.join > rect { fill: #f3e5f5; stroke: #7b1fa2; stroke-dasharray: 2 2; }
.node .title { font-weight: bold; }
.node .detail { fill: #424242; }
.edge path { fill: none; stroke-width: 1.5; }
.edge.catch path, .edge.default path { stroke-dasharray: 6 4; }
.edge.uses path { stroke-width: 1.1; stroke-dasharray: 2 3; }
.edge.reference path { stroke-width: 1; }
.edge-label rect { fill: #fff; stroke: none; opacity: 0.92; }
.edge-label text { font-size: 11px; }
"#;

fn marker_id(kind: EdgeKind) -> String {
    format!("arrow-{}", kind.name())
}

fn markers() -> String {
    let mut out = String::from("<defs>");
    for kind in EdgeKind::ALL {
        let _ = write!(
            out,
            "<marker id=\"{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
             orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"{}\"/></marker>",
            marker_id(kind),
            edge_colour(kind)
        );
    }
    out.push_str("</defs>");
    out
}

fn rect(r: &Rect) -> String {
    format!("x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", num(r.x), num(r.y), num(r.width), num(r.height))
}

/// The SVG alone (well-formed XML, so it can also be saved as a `.svg`).
pub fn svg(diagram: &Diagram, layout: &Layout) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"service\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" aria-label=\"The service's workflow and resources\">",
        w = num(layout.width),
        h = num(layout.height)
    );
    out.push_str(&markers());

    // Outer groups first, so inner ones are drawn over them.
    let depth = |id: &str| {
        let mut depth = 0;
        let mut current = diagram.group(id).and_then(|g| g.parent.clone());
        while let Some(parent) = current {
            depth += 1;
            current = diagram.group(&parent).and_then(|g| g.parent.clone());
        }
        depth
    };
    let mut groups: Vec<_> = diagram.groups.iter().collect();
    groups.sort_by_key(|g| depth(&g.id));
    out.push_str("<g class=\"groups\">");
    for group in groups {
        let Some(placed) = layout.groups.get(&group.id) else {
            continue;
        };
        let _ = write!(
            out,
            "<g class=\"group {}\" id=\"{}\"{}><rect {}/><text class=\"group-title\" x=\"{}\" y=\"{}\" font-size=\"{}\">{}</text></g>",
            escape(&group.class),
            escape(&group.id),
            data_attributes(&group.data),
            rect(&placed.rect),
            num(placed.rect.x + 8.0),
            num(placed.rect.y + GROUP_TITLE_SIZE + 3.0),
            num(GROUP_TITLE_SIZE),
            escape(&placed.title)
        );
    }
    out.push_str("</g>");

    out.push_str("<g class=\"edges\">");
    for (edge, placed) in diagram.edges.iter().zip(&layout.edges) {
        let _ = write!(
            out,
            "<g class=\"edge {kind}\" data-kind=\"{kind}\"{data}><path d=\"{d}\" stroke=\"{colour}\" marker-end=\"url(#{marker})\"/></g>",
            kind = edge.kind.name(),
            data = data_attributes(&edge.data),
            d = spline(&placed.points),
            colour = edge_colour(edge.kind),
            marker = marker_id(edge.kind)
        );
    }
    out.push_str("</g>");

    // Labels over every line, so a line crossing a label never hides it.
    out.push_str("<g class=\"edge-labels\">");
    for (edge, placed) in diagram.edges.iter().zip(&layout.edges) {
        let Some((area, lines)) = &placed.label else {
            continue;
        };
        let _ = write!(out, "<g class=\"edge-label {}\"><rect {}/>", edge.kind.name(), rect(area));
        let _ = write!(
            out,
            "<text x=\"{}\" font-size=\"{}\" text-anchor=\"middle\" fill=\"{}\">",
            num(area.x + area.width / 2.0),
            num(LABEL_SIZE),
            edge_colour(edge.kind)
        );
        for (i, line) in lines.iter().enumerate() {
            let y = area.y + 2.0 + LABEL_LINE_HEIGHT * (i as f64 + 1.0) - 3.0;
            let _ = write!(
                out,
                "<tspan x=\"{}\" y=\"{}\">{}</tspan>",
                num(area.x + area.width / 2.0),
                num(y),
                escape(line)
            );
        }
        out.push_str("</text></g>");
    }
    out.push_str("</g>");

    out.push_str("<g class=\"nodes\">");
    for node in &diagram.nodes {
        let Some(placed) = layout.nodes.get(&node.id) else {
            continue;
        };
        let r = &placed.rect;
        let _ = write!(
            out,
            "<g class=\"node {} {}\" id=\"{}\" data-kind=\"{}\"{}>",
            node.kind.name(),
            escape(&node.class),
            escape(&node.id),
            node.kind.name(),
            data_attributes(&node.data)
        );
        match node.kind {
            NodeKind::Start | NodeKind::End => {
                let _ = write!(
                    out,
                    "<rect {} rx=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"middle\" class=\"title\">{}</text>",
                    rect(r),
                    num(r.height / 2.0),
                    num(r.x + r.width / 2.0),
                    num(r.y + r.height / 2.0 + TITLE_SIZE * 0.35),
                    num(TITLE_SIZE),
                    escape(&node.title)
                );
            }
            NodeKind::Join => {
                let _ = write!(
                    out,
                    "<rect {} rx=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"middle\" class=\"detail\">{}</text>",
                    rect(r),
                    num(r.height / 2.0),
                    num(r.x + r.width / 2.0),
                    num(r.y + r.height / 2.0 + LINE_SIZE * 0.35),
                    num(LINE_SIZE),
                    escape(&node.title)
                );
            }
            NodeKind::State | NodeKind::Resource => {
                let _ = write!(out, "<rect {}/>", rect(r));
                let x = num(r.x + PAD_X);
                let mut y = r.y + PAD_Y;
                for line in &placed.title {
                    y += TITLE_HEIGHT;
                    let _ = write!(
                        out,
                        "<text x=\"{x}\" y=\"{}\" font-size=\"{}\" class=\"title\">{}</text>",
                        num(y - 4.0),
                        num(TITLE_SIZE),
                        escape(line)
                    );
                }
                for line in &placed.lines {
                    y += LINE_HEIGHT;
                    let _ = write!(
                        out,
                        "<text x=\"{x}\" y=\"{}\" font-size=\"{}\" class=\"detail\">{}</text>",
                        num(y - 3.5),
                        num(LINE_SIZE),
                        escape(line)
                    );
                }
            }
        }
        out.push_str("</g>");
    }
    out.push_str("</g></svg>");
    out
}

fn legend() -> String {
    let mut out = String::from("<div class=\"legend\">");
    for kind in EdgeKind::ALL {
        let dash = match kind {
            EdgeKind::Catch | EdgeKind::Default => " stroke-dasharray=\"6 4\"",
            EdgeKind::Uses => " stroke-dasharray=\"2 3\"",
            _ => "",
        };
        let _ = write!(
            out,
            "<span><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"10\"><line x1=\"1\" y1=\"5\" x2=\"38\" \
             y2=\"5\" stroke=\"{}\" stroke-width=\"2\"{dash}/></svg>{}</span>",
            edge_colour(kind),
            escape(kind.meaning())
        );
    }
    out.push_str("</div>");
    out
}

/// The whole page: title, notes, legend, picture.
pub fn page(diagram: &Diagram, layout: &Layout, page: &Page) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(page.title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(out, "<h1>{}</h1>", escape(page.title));
    for note in page.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out.push_str(&legend());
    // Natural size keeps the text legible; a wide picture can be shrunk to the window, with no
    // script: the checkbox's state alone restyles the picture.
    out.push_str("\n<input type=\"checkbox\" id=\"fit\"><label for=\"fit\"> fit the picture to the window</label>");
    out.push_str("\n<div class=\"picture\">\n");
    out.push_str(&svg(diagram, layout));
    out.push_str("\n</div>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(escape("bell\u{7}"), "bell\u{FFFD}");
    }

    #[test]
    fn a_spline_starts_and_ends_on_the_route() {
        let d = spline(&[(0.0, 0.0), (10.0, 20.0), (20.0, 40.0), (30.0, 60.0)]);
        assert!(d.starts_with("M0,0"), "{d}");
        assert!(d.ends_with("L30,60"), "{d}");
        assert_eq!(spline(&[(1.0, 2.0), (3.5, 4.25)]), "M1,2L3.5,4.25");
        assert_eq!(spline(&[]), "");
    }
}
