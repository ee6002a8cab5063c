//! The one font every chart uses, embedded in the binary: no system font is needed. DejaVu Sans
//! (Bitstream Vera licence, see assets/fonts/LICENSE-DejaVu).

use std::sync::OnceLock;

use plotters::style::FontStyle;

const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name charts ask for.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font (once); an error says why charts cannot have text.
pub(crate) fn ensure() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS)
            .map_err(|_| "the embedded DejaVu Sans font could not be loaded".to_string())
    })
    .clone()
}
