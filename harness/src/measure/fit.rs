//! Least-squares fits over measured points.

/// Least-squares slope of y on x; None with fewer than two points or no spread in x.
pub(crate) fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    Some(points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx)
}

/// The slope and its standard error (from the residuals; None with fewer than three points).
pub(crate) fn slope_with_error(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let b = slope(points)?;
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let rss: f64 = points.iter().map(|p| (p.1 - my - b * (p.0 - mx)).powi(2)).sum();
    Some((b, (rss / (n - 2.0) / sxx).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::{slope, slope_with_error};

    #[test]
    fn a_noisy_slope_has_a_wide_error_and_a_line_none() {
        assert_eq!(slope_with_error(&[(1.0, 3.0), (2.0, 5.0), (3.0, 7.0)]), Some((2.0, 0.0)));
        let (b, se) = slope_with_error(&[(1.0, 30.0), (2.0, 16.0), (3.0, 100.0)]).unwrap();
        assert!((b - 35.0).abs() < 1e-9 && se > 25.0, "{b} ± {se}");
        assert_eq!(slope_with_error(&[(1.0, 3.0), (2.0, 5.0)]), None);
    }

    #[test]
    fn the_slope_of_a_line_and_of_nothing() {
        assert_eq!(slope(&[(1.0, 3.0), (2.0, 5.0), (3.0, 7.0)]), Some(2.0));
        assert_eq!(slope(&[(1.0, 3.0)]), None);
        assert_eq!(slope(&[(1.0, 3.0), (1.0, 5.0)]), None, "no spread in x");
    }
}
