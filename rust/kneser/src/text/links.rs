//! Finding URLs and e-mail addresses in text, for the normalizer's replacement steps.
//!
//! Input: text (`&str`). Output: the text with each URL or address replaced by a fixed string,
//! appended to a caller's buffer. Memory: none beyond the output. One pass, no backtracking
//! beyond the span of a candidate.
//!
//! The rules are deliberately simple and documented (no regex engine):
//!
//! * A URL starts with `http://`, `https://`, `ftp://` or `www.` (any case) that does not follow
//!   a letter or digit, and runs to the next whitespace, control character, `<`, `>` or `"`.
//!   Trailing `.`, `,`, `;`, `:`, `!`, `?` and `'` are left out of it, and so is a trailing
//!   `)`, `]` or `}` that has no opening partner inside the URL.
//! * An e-mail address is `local@domain`: the local part is a run of ASCII letters, digits and
//!   `.`, `_`, `%`, `+`, `-` not starting with `.`; the domain is a run of ASCII letters, digits,
//!   `.` and `-` holding at least one dot, without a trailing `.` or `-`, whose last label has at
//!   least two letters and only letters.

/// Appends `text` to `out` with every URL replaced by `replacement`.
pub fn replace_urls(text: &str, replacement: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = url_at(text, i) {
            out.push_str(&text[copied..i]);
            out.push_str(replacement);
            copied = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
}

/// The end of a URL starting at byte `i`, if one starts there.
fn url_at(text: &str, i: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if !matches!(bytes[i], b'h' | b'H' | b'f' | b'F' | b'w' | b'W') || !text.is_char_boundary(i) {
        return None;
    }
    if let Some(prev) = text[..i].chars().next_back() {
        if prev.is_alphanumeric() {
            return None;
        }
    }
    let rest = &bytes[i..];
    let prefix = ["http://", "https://", "ftp://", "www."]
        .iter()
        .find(|p| rest.len() > p.len() && rest[..p.len()].eq_ignore_ascii_case(p.as_bytes()))?;
    let body_start = i + prefix.len();
    let mut end = body_start;
    for (off, c) in text[body_start..].char_indices() {
        if super::whitespace::is_unicode_space(c) || c.is_control() || matches!(c, '<' | '>' | '"')
        {
            break;
        }
        end = body_start + off + c.len_utf8();
    }
    // Trim trailing punctuation and unbalanced closing brackets.
    while let Some(last) = text[body_start..end].chars().next_back() {
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' => true,
            ')' | ']' | '}' => {
                let open = match last {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                let span = &text[body_start..end];
                span.matches(open).count() < span.matches(last).count()
            }
            _ => false,
        };
        if !drop {
            break;
        }
        end -= last.len_utf8();
    }
    (end > body_start).then_some(end)
}

/// Appends `text` to `out` with every e-mail address replaced by `replacement`.
pub fn replace_emails(text: &str, replacement: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut search = 0;
    while let Some(rel) = memchr::memchr(b'@', &bytes[search..]) {
        let at = search + rel;
        search = at + 1;
        let Some((start, end)) = email_around(bytes, at, copied) else {
            continue;
        };
        out.push_str(&text[copied..start]);
        out.push_str(replacement);
        copied = end;
        search = end;
    }
    out.push_str(&text[copied..]);
}

fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// The byte span of an address whose `@` is at `at`, not reaching before `floor`.
fn email_around(bytes: &[u8], at: usize, floor: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > floor && is_local_byte(bytes[start - 1]) {
        start -= 1;
    }
    while start < at && bytes[start] == b'.' {
        start += 1;
    }
    if start == at {
        return None;
    }
    let mut end = at + 1;
    while end < bytes.len() && is_domain_byte(bytes[end]) {
        end += 1;
    }
    while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let domain = &bytes[at + 1..end];
    let last_dot = domain.iter().rposition(|&b| b == b'.')?;
    let tld = &domain[last_dot + 1..];
    if last_dot == 0 || tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> String {
        let mut out = String::new();
        replace_urls(s, "<url>", &mut out);
        out
    }

    fn emails(s: &str) -> String {
        let mut out = String::new();
        replace_emails(s, "<email>", &mut out);
        out
    }

    #[test]
    fn finds_urls_and_trims_their_tails() {
        assert_eq!(urls("see https://a.org/x?y=1."), "see <url>.");
        assert_eq!(urls("(www.example.com)"), "(<url>)");
        assert_eq!(
            urls("wiki https://en.wikipedia.org/wiki/A_(b), ok"),
            "wiki <url>, ok"
        );
        assert_eq!(urls("HTTP://X.COM and ftp://f"), "<url> and <url>");
        assert_eq!(
            urls("awww.example.com http:// x"),
            "awww.example.com http:// x"
        );
        assert_eq!(urls("é https://ü.de/ä"), "é <url>");
    }

    #[test]
    fn finds_emails() {
        assert_eq!(
            emails("mail a.b+c@ex-ample.co.uk, now"),
            "mail <email>, now"
        );
        assert_eq!(emails("x@y @ a@b.c a@b.cd."), "x@y @ a@b.c <email>.");
        assert_eq!(emails("a@b.cd@e.fg"), "<email>@e.fg");
        assert_eq!(emails("é@ü.de"), "é@ü.de");
    }
}
