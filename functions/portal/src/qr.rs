//! QR codes of links, as SVG (the `qrcode` crate): printable, and small enough to serve
//! on every links page.

use qrcode::QrCode;
use qrcode::render::svg;

/// The QR code of `text`, or `None` when it is too long to encode.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(180, 180)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_an_svg_and_an_endless_text_does_not() {
        let image = svg("https://go.example.com/r/k8s2m4xq").unwrap();
        assert!(image.contains("<svg") && image.contains("<path"), "{image}");
        assert!(svg(&"x".repeat(8_000)).is_none());
    }
}
