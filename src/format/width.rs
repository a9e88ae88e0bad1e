//! How many columns text occupies, the way `hclwrite` measures it: one column per grapheme
//! cluster, as `go-textseg` splits them. That library predates Unicode 15.1's rule GB9c, which
//! joins an Indic consonant, a virama and the next consonant (`स्त`) into one cluster; `packer fmt`
//! counts those as two, so kiln splits them again after `unicode-segmentation`'s UAX #29.

use unicode_segmentation::UnicodeSegmentation;

/// The number of grapheme clusters in `text`, as `packer fmt` counts them.
pub fn columns(text: &str) -> usize {
    text.graphemes(true)
        .map(|cluster| 1 + conjunct_joins(cluster))
        .sum()
}

/// How many times GB9c joined a consonant to the cluster: a virama (InCB=Linker), perhaps with
/// extending marks or ZWJ after it, then a consonant (InCB=Consonant).
fn conjunct_joins(cluster: &str) -> usize {
    let mut joins = 0;
    let mut after_linker = false;
    for c in cluster.chars() {
        if after_linker && is_conjunct_consonant(c) {
            joins += 1;
            after_linker = false;
        } else if is_linker(c) {
            after_linker = true;
        } else if !(c == '\u{200d}' || is_combining(c)) {
            after_linker = false;
        }
    }
    joins
}

/// The viramas Unicode gives InCB=Linker: Devanagari, Bengali, Gujarati, Oriya, Telugu,
/// Malayalam.
fn is_linker(c: char) -> bool {
    matches!(
        c,
        '\u{094d}' | '\u{09cd}' | '\u{0acd}' | '\u{0b4d}' | '\u{0c4d}' | '\u{0d4d}'
    )
}

/// The consonants of those scripts (InCB=Consonant).
fn is_conjunct_consonant(c: char) -> bool {
    matches!(c,
        '\u{0915}'..='\u{0939}' | '\u{0958}'..='\u{095f}' | '\u{0978}'..='\u{097f}'
        | '\u{0995}'..='\u{09a8}' | '\u{09aa}'..='\u{09b0}' | '\u{09b2}' | '\u{09b6}'..='\u{09b9}'
        | '\u{09dc}'..='\u{09dd}' | '\u{09df}' | '\u{09f0}'..='\u{09f1}'
        | '\u{0a95}'..='\u{0aa8}' | '\u{0aaa}'..='\u{0ab0}' | '\u{0ab2}'..='\u{0ab3}'
        | '\u{0ab5}'..='\u{0ab9}' | '\u{0af9}'
        | '\u{0b15}'..='\u{0b28}' | '\u{0b2a}'..='\u{0b30}' | '\u{0b32}'..='\u{0b33}'
        | '\u{0b35}'..='\u{0b39}' | '\u{0b5c}'..='\u{0b5d}' | '\u{0b5f}' | '\u{0b71}'
        | '\u{0c15}'..='\u{0c28}' | '\u{0c2a}'..='\u{0c39}' | '\u{0c58}'..='\u{0c5a}'
        | '\u{0d15}'..='\u{0d3a}')
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
        // Thai SARA AM and Arabic prepend marks join their neighbours; Indic conjuncts do not
        // (GB9c is newer than packer fmt's library).
        assert_eq!(columns("กำ"), 1);
        assert_eq!(columns("\u{0600}١"), 1);
        assert_eq!(columns("नमस्ते"), 4);
        assert_eq!(columns("क्षि"), 2);
    }
}
