//! Writing ARPA files as lmplz does.
//!
//! Values are printed as the shortest decimal that reads back as the same f32, in exponent form
//! when the decimal exponent is below -6 (`-3.1063172e-7`), as KenLM's double-conversion based
//! printer does. A line is `log10p TAB words [TAB backoff]`; the header lists the n-gram counts.

use std::io::Write;

/// The shortest decimal digits that read back as `v` (finite, nonzero), and the decimal
/// exponent of the first digit: `|v| = d1.d2d3... × 10^exp`. Of two equally short candidates
/// equally close to `v`, the one with the even last digit is taken, as double-conversion (and
/// Ryu, which computes them here) does.
fn shortest_digits(v: f32, buf: &mut ryu::Buffer) -> ([u8; 12], usize, i32) {
    let text = buf.format_finite(v.abs()).as_bytes();
    let (mantissa, exp_part) = match text.iter().position(|&b| b == b'e') {
        Some(i) => (&text[..i], parse_exponent(&text[i + 1..])),
        None => (text, 0),
    };
    let int_len = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len()) as i32;
    let mut digits = [0u8; 12];
    let mut len = 0usize;
    let mut leading = 0i32;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if len == 0 && b == b'0' {
            leading += 1;
            continue;
        }
        if len < digits.len() {
            digits[len] = b;
            len += 1;
        }
    }
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    (digits, len, int_len - 1 - leading + exp_part)
}

fn parse_exponent(bytes: &[u8]) -> i32 {
    let (neg, rest) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut e = 0i32;
    for &b in rest {
        e = e * 10 + i32::from(b - b'0');
    }
    if neg {
        -e
    } else {
        e
    }
}

/// Appends the shortest round-trip decimal of `v` in KenLM's style.
///
/// This is the only `f32` digit printer of the crate (ARPA files, and `query` reports through
/// [`crate::model::query::format_f32`]). Every zero prints as `0` here, as lmplz's zeros are.
///
/// Ryu's own text already is KenLM's for every decimal exponent below 13 (plain `0.000123` from
/// -6 up, `1.5e-7` below, the same shortest digits), except that it ends integers in `.0`: that
/// text is taken as is, and only exponents from 13 up (plain in KenLM's style up to 20) are
/// rebuilt from the digits. A property test holds it to the digit-by-digit printer.
pub fn format_f32(v: f32, out: &mut Vec<u8>) {
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    if !v.is_finite() {
        let _ = write!(out, "{v}");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v).as_bytes();
    match memchr::memchr(b'e', text) {
        None => out.extend_from_slice(text.strip_suffix(b".0").unwrap_or(text)),
        Some(i) if text.get(i + 1) == Some(&b'-') => out.extend_from_slice(text),
        Some(_) => format_f32_digits(v, out),
    }
}

/// Whether a number whose shortest digits are `d.ddd` times 10^`exp` is printed in fixed
/// form (else `d.ddde<exp>`, no `+`): KenLM's printer (util/float_to_string.cc, double-conversion's
/// shortest mode with the decimal point kept from 10^-6 up to 10^21), for `f32` and `f64` alike.
#[inline]
pub fn is_fixed_exponent(exp: i32) -> bool {
    (-6..21).contains(&exp)
}

/// [`format_f32`] from the shortest digits and their exponent, for any finite nonzero `v`.
fn format_f32_digits(v: f32, out: &mut Vec<u8>) {
    let mut buf = ryu::Buffer::new();
    let (digits, len, exp) = shortest_digits(v, &mut buf);
    let digits = &digits[..len];
    if v < 0.0 {
        out.push(b'-');
    }
    if !is_fixed_exponent(exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let _ = write!(out, "e{exp}");
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.extend_from_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

/// The value an ARPA reader gets back from [`format_f32`]'s text of `v`: the one print-parse
/// rounding of the crate, for writers that hand values on without text
/// ([`crate::arpa::records`]). `None` where the text is no number a reader accepts (`NaN`).
///
/// The digits are the shortest that read back as `v` under correct rounding (Rust's `f32`
/// parsing, which [`crate::arpa::reader`] uses), so every finite nonzero value and both
/// infinities come back unchanged; only the zeros differ: `-0.0` prints as `0` and reads back as
/// `+0.0`. A test checks this against the printer and the reader on random bit patterns.
#[inline]
pub fn printed(v: f32) -> Option<f32> {
    if v.is_nan() {
        None
    } else if v == 0.0 {
        Some(0.0)
    } else {
        Some(v)
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

    /// The printer before the Ryu fast path (digits, then KenLM's layout), the oracle of the
    /// fast path.
    fn reference(v: f32) -> Vec<u8> {
        let mut o = Vec::new();
        if v == 0.0 {
            o.push(b'0');
        } else if !v.is_finite() {
            let _ = write!(o, "{v}");
        } else {
            format_f32_digits(v, &mut o);
        }
        o
    }

    fn fast(v: f32) -> Vec<u8> {
        let mut o = Vec::new();
        format_f32(v, &mut o);
        o
    }

    #[test]
    fn fast_path_matches_the_digit_printer_across_all_exponents() {
        // Every exponent and sign, about 1.6 M values spread over the whole bit range.
        let mut x: u32 = 0;
        loop {
            let v = f32::from_bits(x);
            assert_eq!(fast(v), reference(v), "{v:e} ({x:#x})");
            match x.checked_add(0x0a51) {
                Some(next) => x = next,
                None => break,
            }
        }
        for v in [
            1e13f32,
            -1e13,
            1.5e20,
            9.9e20,
            1e21,
            123456789.0,
            1e12,
            1.0,
            -7.0,
            1e-6,
        ] {
            assert_eq!(fast(v), reference(v), "{v:e}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 20_000, ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn fast_path_matches_the_digit_printer(bits in proptest::prelude::any::<u32>()) {
            let v = f32::from_bits(bits);
            proptest::prop_assert_eq!(fast(v), reference(v));
        }
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

    /// [`printed`] is what the ARPA reader reads back from the printer's text, bit for bit.
    fn check_printed(v: f32) {
        let text = f(v);
        let back = crate::arpa::reader::parse_float(text.as_bytes());
        assert_eq!(
            back.map(f32::to_bits),
            printed(v).map(f32::to_bits),
            "{v:?} printed as {text}"
        );
    }

    #[test]
    fn printed_is_the_print_parse_round_trip() {
        for v in [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            -f32::from_bits(1),
            f32::MAX,
            -99.0,
            -0.30103,
        ] {
            check_printed(v);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn printed_matches_the_reader_on_any_bits(bits in proptest::prelude::any::<u32>()) {
            check_printed(f32::from_bits(bits));
        }
    }
}
