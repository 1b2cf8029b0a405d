//! Writing ARPA files as lmplz does.
//!
//! Values are printed as the shortest decimal that reads back as the same f32, in exponent form
//! when the decimal exponent is below -6 (`-3.1063172e-7`), as KenLM's double-conversion based
//! printer does. A line is `log10p TAB words [TAB backoff]`; the header lists the n-gram counts.

use std::io::Write;

/// The shortest decimal digits that read back as `v` (nonzero, finite), and the decimal
/// exponent of the first digit: `v = ±d1.d2d3... × 10^exp`. Of two equally short candidates
/// equally close to `v`, the one with the even last digit is taken, as double-conversion does.
fn shortest_digits(v: f32) -> (bool, Vec<u8>, i32) {
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa.bytes().filter(|b| b.is_ascii_digit()).collect();
    let n = digits.len();
    // A tie: the exact value has exactly n+1 significant digits, the last a 5.
    let exact = format!("{:.*e}", n, f64::from(v.abs()));
    if exact.parse::<f64>().ok() == Some(f64::from(v.abs())) {
        let (em, ee) = exact.split_once('e').unwrap_or((&exact, "0"));
        let e_digits: Vec<u8> = em.bytes().filter(|b| b.is_ascii_digit()).collect();
        if ee.parse::<i32>().ok() == Some(exp) && e_digits.len() == n + 1 && e_digits[n] == b'5' {
            let trunc = &e_digits[..n];
            let alternative: Option<Vec<u8>> = if digits == trunc {
                (trunc[n - 1] != b'9').then(|| {
                    let mut a = trunc.to_vec();
                    a[n - 1] += 1;
                    a
                })
            } else {
                Some(trunc.to_vec())
            };
            if let Some(alt) = alternative {
                let alt_even = (alt[n - 1] - b'0') % 2 == 0;
                let alt_text = format!(
                    "{}.{}e{}",
                    alt[0] as char,
                    std::str::from_utf8(&alt[1..]).unwrap_or("0"),
                    exp
                );
                if alt_even && alt_text.parse::<f32>().ok() == Some(v.abs()) {
                    digits = alt;
                }
            }
        }
    }
    (v < 0.0, digits, exp)
}

/// Appends the shortest round-trip decimal of `v` in KenLM's style.
pub fn format_f32(v: f32, out: &mut Vec<u8>) {
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    if !v.is_finite() {
        let _ = write!(out, "{v}");
        return;
    }
    let (negative, digits, exp) = shortest_digits(v);
    if negative {
        out.push(b'-');
    }
    if !(-6..21).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let _ = write!(out, "e{exp}");
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.extend_from_slice(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(&digits);
            out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

/// Writes the `\data\` header for n-gram counts per order.
pub fn write_header(out: &mut impl Write, counts: &[u64]) -> std::io::Result<()> {
    out.write_all(b"\\data\\\n")?;
    for (i, c) in counts.iter().enumerate() {
        writeln!(out, "ngram {}={}", i + 1, c)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::approx_constant, clippy::excessive_precision)]
mod tests {
    use super::*;

    fn f(v: f32) -> String {
        let mut o = Vec::new();
        format_f32(v, &mut o);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn shortest_round_trip_in_kenlm_style() {
        assert_eq!(f(-0.30103), "-0.30103");
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-0.0), "0");
        assert_eq!(f(-1.0), "-1");
        assert_eq!(f(-3.1063172e-7), "-3.1063172e-7");
        assert_eq!(f(-1e-6), "-0.000001");
        assert_eq!(f(-4.52156), "-4.52156");
        assert_eq!(f(-0.45593196), "-0.45593196");
        assert_eq!(f(-12.5), "-12.5");
        assert_eq!(f(-100.0), "-100");
        assert_eq!(f(-3e-7), "-3e-7");
    }

    #[test]
    fn ties_go_to_the_even_digit() {
        // -1.11328125 is exact in f32: -1.1132812 and -1.1132813 are equally close.
        assert_eq!(f(-1.113_281_25), "-1.1132812");
        assert_eq!(f(-1.410_156_25), "-1.4101562");
        assert_eq!(f(-0.283_203_125), "-0.28320312");
    }

    #[test]
    fn every_f32_reads_back() {
        let mut x: u32 = 0x3000_0000;
        while x < 0x4300_0000 {
            let v = -f32::from_bits(x);
            let s = f(v);
            assert_eq!(s.parse::<f32>().unwrap(), v, "{s}");
            x += 0x0001_3579;
        }
    }
}
