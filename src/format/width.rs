//! How many columns text occupies, the way `hclwrite` measures it: one column per grapheme
//! cluster (it uses a Unicode text segmentation library; this is a table-light approximation of
//! UAX #29 that agrees with it on combining marks, emoji sequences, flags, Hangul and `\r\n`).

/// The number of grapheme clusters in `text`.
pub fn columns(text: &str) -> usize {
    let mut count = 0;
    let mut prev: Option<char> = None;
    // Regional indicators pair up into flags; this counts the current run of them.
    let mut regional_run = 0;
    // Whether the cluster so far is an emoji followed by extenders (GB11).
    let mut emoji_run = false;
    for c in text.chars() {
        let boundary = match prev {
            None => true,
            Some(p) => is_boundary(p, c, regional_run, emoji_run),
        };
        if boundary {
            count += 1;
        }
        regional_run = match (is_regional_indicator(c), boundary) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => regional_run + 1,
        };
        emoji_run = if is_pictographic(c) {
            true
        } else {
            emoji_run && !boundary && (is_extend(c) || c == ZWJ)
        };
        prev = Some(c);
    }
    count
}

const ZWJ: char = '\u{200d}';

fn is_boundary(prev: char, c: char, regional_run: usize, emoji_run: bool) -> bool {
    if prev == '\r' && c == '\n' {
        return false;
    }
    if is_control(prev) || is_control(c) {
        return true;
    }
    if let (Some(p), Some(n)) = (hangul(prev), hangul(c)) {
        use Hangul::*;
        let joins = matches!(
            (p, n),
            (L, L | V | Lv | Lvt) | (Lv | V, V | T) | (Lvt | T, T)
        );
        if joins {
            return false;
        }
    }
    if is_extend(c) || c == ZWJ {
        return false;
    }
    if prev == ZWJ && emoji_run && is_pictographic(c) {
        return false;
    }
    if is_regional_indicator(prev) && is_regional_indicator(c) {
        return regional_run.is_multiple_of(2);
    }
    true
}

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1f1e6}'..='\u{1f1ff}').contains(&c)
}

fn is_pictographic(c: char) -> bool {
    matches!(c,
        '\u{00a9}' | '\u{00ae}' | '\u{203c}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21aa}' | '\u{231a}'..='\u{23ff}' | '\u{24c2}' | '\u{25aa}'..='\u{27bf}'
        | '\u{2934}'..='\u{2935}' | '\u{2b05}'..='\u{2b55}' | '\u{3030}' | '\u{303d}'
        | '\u{3297}' | '\u{3299}' | '\u{1f000}'..='\u{1f1e5}' | '\u{1f200}'..='\u{1f3fa}'
        | '\u{1f400}'..='\u{1faff}')
}

/// Grapheme_Cluster_Break = Extend or SpacingMark (both never start a cluster).
fn is_extend(c: char) -> bool {
    is_combining(c)
        || matches!(c,
            '\u{200c}' | '\u{fe00}'..='\u{fe0f}' | '\u{1f3fb}'..='\u{1f3ff}'
            | '\u{e0020}'..='\u{e007f}' | '\u{e0100}'..='\u{e01ef}' | '\u{ff9e}'..='\u{ff9f}')
}

/// Combining marks of the common scripts (general categories Mn, Mc, Me).
pub fn is_combining(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036f}' | '\u{0483}'..='\u{0489}' | '\u{0591}'..='\u{05bd}' | '\u{05bf}'
        | '\u{05c1}'..='\u{05c2}' | '\u{05c4}'..='\u{05c5}' | '\u{05c7}' | '\u{0610}'..='\u{061a}'
        | '\u{064b}'..='\u{065f}' | '\u{0670}' | '\u{06d6}'..='\u{06dc}' | '\u{06df}'..='\u{06e4}'
        | '\u{06e7}'..='\u{06e8}' | '\u{06ea}'..='\u{06ed}' | '\u{0711}' | '\u{0730}'..='\u{074a}'
        | '\u{07a6}'..='\u{07b0}' | '\u{07eb}'..='\u{07f3}' | '\u{0816}'..='\u{082d}'
        | '\u{0859}'..='\u{085b}' | '\u{08d3}'..='\u{08e1}' | '\u{08e3}'..='\u{0903}'
        | '\u{093a}'..='\u{093c}' | '\u{093e}'..='\u{094f}' | '\u{0951}'..='\u{0957}'
        | '\u{0962}'..='\u{0963}' | '\u{0981}'..='\u{0983}' | '\u{09bc}' | '\u{09be}'..='\u{09cd}'
        | '\u{09d7}' | '\u{09e2}'..='\u{09e3}' | '\u{0a01}'..='\u{0a03}' | '\u{0a3c}'..='\u{0a51}'
        | '\u{0a70}'..='\u{0a71}' | '\u{0a75}' | '\u{0a81}'..='\u{0a83}' | '\u{0abc}'
        | '\u{0abe}'..='\u{0acd}' | '\u{0ae2}'..='\u{0ae3}' | '\u{0b01}'..='\u{0b03}' | '\u{0b3c}'
        | '\u{0b3e}'..='\u{0b57}' | '\u{0b62}'..='\u{0b63}' | '\u{0b82}' | '\u{0bbe}'..='\u{0bcd}'
        | '\u{0bd7}' | '\u{0c00}'..='\u{0c04}' | '\u{0c3e}'..='\u{0c56}' | '\u{0c62}'..='\u{0c63}'
        | '\u{0c81}'..='\u{0c83}' | '\u{0cbc}' | '\u{0cbe}'..='\u{0cd6}' | '\u{0ce2}'..='\u{0ce3}'
        | '\u{0d00}'..='\u{0d03}' | '\u{0d3b}'..='\u{0d3c}' | '\u{0d3e}'..='\u{0d4d}' | '\u{0d57}'
        | '\u{0d62}'..='\u{0d63}' | '\u{0d82}'..='\u{0d83}' | '\u{0dca}'..='\u{0df3}' | '\u{0e31}'
        | '\u{0e34}'..='\u{0e3a}' | '\u{0e47}'..='\u{0e4e}' | '\u{0eb1}' | '\u{0eb4}'..='\u{0ebc}'
        | '\u{0ec8}'..='\u{0ecd}' | '\u{0f18}'..='\u{0f19}' | '\u{0f35}' | '\u{0f37}' | '\u{0f39}'
        | '\u{0f3e}'..='\u{0f3f}' | '\u{0f71}'..='\u{0f84}' | '\u{0f86}'..='\u{0f87}'
        | '\u{0f8d}'..='\u{0fbc}' | '\u{0fc6}' | '\u{102b}'..='\u{103e}' | '\u{1056}'..='\u{1059}'
        | '\u{135d}'..='\u{135f}' | '\u{1712}'..='\u{1714}' | '\u{17b4}'..='\u{17d3}' | '\u{17dd}'
        | '\u{180b}'..='\u{180d}' | '\u{1a17}'..='\u{1a1b}' | '\u{1ab0}'..='\u{1aff}'
        | '\u{1b00}'..='\u{1b04}' | '\u{1b34}'..='\u{1b44}' | '\u{1dc0}'..='\u{1dff}'
        | '\u{20d0}'..='\u{20ff}' | '\u{2cef}'..='\u{2cf1}' | '\u{2de0}'..='\u{2dff}'
        | '\u{302a}'..='\u{302f}' | '\u{3099}'..='\u{309a}' | '\u{a66f}'..='\u{a672}'
        | '\u{a674}'..='\u{a67d}' | '\u{a69e}'..='\u{a69f}' | '\u{a6f0}'..='\u{a6f1}'
        | '\u{a802}' | '\u{a806}' | '\u{a80b}' | '\u{a823}'..='\u{a827}' | '\u{fb1e}'
        | '\u{fe20}'..='\u{fe2f}' | '\u{101fd}' | '\u{1d165}'..='\u{1d169}'
        | '\u{1d16d}'..='\u{1d172}' | '\u{1d17b}'..='\u{1d182}' | '\u{1d185}'..='\u{1d18b}'
        | '\u{1d1aa}'..='\u{1d1ad}')
}

#[derive(Clone, Copy)]
enum Hangul {
    L,
    V,
    T,
    Lv,
    Lvt,
}

fn hangul(c: char) -> Option<Hangul> {
    Some(match c {
        '\u{1100}'..='\u{115f}' | '\u{a960}'..='\u{a97c}' => Hangul::L,
        '\u{1160}'..='\u{11a7}' | '\u{d7b0}'..='\u{d7c6}' => Hangul::V,
        '\u{11a8}'..='\u{11ff}' | '\u{d7cb}'..='\u{d7fb}' => Hangul::T,
        '\u{ac00}'..='\u{d7a3}' if (c as u32 - 0xac00).is_multiple_of(28) => Hangul::Lv,
        '\u{ac00}'..='\u{d7a3}' => Hangul::Lvt,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::columns;

    #[test]
    fn clusters_not_chars() {
        assert_eq!(columns("abc"), 3);
        assert_eq!(columns("e\u{301}"), 1);
        assert_eq!(columns("\r\n"), 1);
        assert_eq!(columns("🤷‍♂️"), 1);
        assert_eq!(columns("🇫🇷🇩🇪"), 2);
        assert_eq!(columns("한국어"), 3);
        assert_eq!(columns("\u{1100}\u{1161}\u{11a8}"), 1);
        assert_eq!(columns("© –"), 3);
    }
}
