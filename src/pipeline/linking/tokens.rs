//! Turns names, comments, sample values and questions into the words linking compares.
//!
//! Both sides go through the same steps, so `customerOrders`, `customer_orders` and "orders
//! of a customer" meet on `customer`/`order`: split at non-alphanumerics, case changes and
//! letter/digit boundaries, lower-case, drop stop words, bare numbers and single letters,
//! then fold plurals and `-ed`/`-ing` endings. The stemmer is deliberately crude: it only
//! has to map related forms to the same key, not produce real words.

/// Words that carry no meaning about which table is wanted. Sorted, for binary search.
pub(super) const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "all", "also", "am", "among", "an", "and", "any", "are", "as",
    "at", "be", "been", "before", "being", "below", "both", "but", "by", "can", "could", "did",
    "do", "does", "doing", "during", "each", "either", "else", "etc", "every", "find", "for",
    "from", "get", "give", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "let", "list", "me", "much",
    "my", "of", "off", "on", "only", "onto", "or", "our", "ours", "out", "over", "please",
    "return", "returns", "she", "should", "show", "so", "some", "such", "tell", "than", "that",
    "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "under", "until", "up", "upon", "us", "via", "was", "we", "were", "what", "whats",
    "when", "where", "whereas", "whether", "which", "while", "who", "whom", "whose", "why", "will",
    "with", "within", "without", "would", "you", "your",
];

/// The linking words of `text`, in order, repeats kept.
#[cfg(test)]
pub(super) fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for_each_word(text, |word| words.push(word.to_owned()));
    words
}

/// The linking words of `text` plus each pair of neighbouring words written as one (`gas
/// station` also gives `gasstation`), so compounds match whichever way they are spelled.
pub(super) fn words_and_compounds(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for_each_word_and_compound(text, |word, _| words.push(word.to_owned()));
    words
}

/// Calls `f` with each linking word of `text`, in order.
pub(super) fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut lower = String::new();
    let mut stemmed = String::new();
    for_each_piece(text, |piece| {
        lowercase_into(piece, &mut lower);
        if is_meaningful(&lower) {
            stem_into(&lower, &mut stemmed);
            f(&stemmed);
        }
    });
}

/// Calls `f(word, is_compound)` with each linking word of `text` and, after each word but
/// the first of a run without stop words, the compound of it and the word before.
pub(super) fn for_each_word_and_compound(text: &str, mut f: impl FnMut(&str, bool)) {
    let mut lower = String::new();
    let mut previous = String::new();
    let mut compound = String::new();
    let mut stemmed = String::new();
    for_each_piece(text, |piece| {
        lowercase_into(piece, &mut lower);
        if !is_meaningful(&lower) {
            previous.clear();
            return;
        }
        if !previous.is_empty() {
            compound.clear();
            compound.push_str(&previous);
            compound.push_str(&lower);
            stem_into(&compound, &mut stemmed);
            f(&stemmed, true);
        }
        stem_into(&lower, &mut stemmed);
        f(&stemmed, false);
        std::mem::swap(&mut previous, &mut lower);
    });
}

/// Calls `f` with each alphanumeric run of `text`, further split at case changes
/// (`sbTxAmount` -> `sb`, `Tx`, `Amount`; `HTTPServer` -> `HTTP`, `Server`) and at
/// letter/digit boundaries (`address2` -> `address`, `2`).
fn for_each_piece(text: &str, mut f: impl FnMut(&str)) {
    let mut start: Option<usize> = None;
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        if !c.is_alphanumeric() {
            if let Some(from) = start.take() {
                f(&text[from..offset]);
            }
            prev = None;
            continue;
        }
        if let (Some(from), Some(prev)) = (start, prev) {
            let next = chars.peek().map(|&(_, c)| c);
            let camel = prev.is_lowercase() && c.is_uppercase();
            let acronym_end =
                prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase);
            let digits = prev.is_numeric() != c.is_numeric();
            if camel || acronym_end || digits {
                f(&text[from..offset]);
                start = Some(offset);
            }
        } else {
            start = Some(offset);
        }
        prev = Some(c);
    }
    if let Some(from) = start {
        f(&text[from..]);
    }
}

fn lowercase_into(piece: &str, out: &mut String) {
    out.clear();
    if piece.is_ascii() {
        out.extend(piece.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.extend(piece.chars().flat_map(char::to_lowercase));
    }
}

fn is_meaningful(lower: &str) -> bool {
    lower.chars().nth(1).is_some()
        && !lower.chars().all(|c| c.is_numeric())
        && STOP_WORDS.binary_search(&lower).is_err()
}

/// Writes `word` to `out` with plural, `-ed` and `-ing` endings and a final `e`/`y` folded,
/// so `cities`/`city`, `rated`/`rating`/`rates`, `movies`/`movie` each share a key.
fn stem_into(word: &str, out: &mut String) {
    out.clear();
    out.push_str(word);
    let w = out;
    if !w.is_ascii() || w.len() <= 3 {
        return;
    }
    if w.ends_with("sses") || w.ends_with("ies") {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.pop();
    }
    let suffix = if w.ends_with("ing") {
        3
    } else if w.ends_with("ed") {
        2
    } else {
        0
    };
    if suffix > 0 && w.len() - suffix >= 3 && has_vowel(&w[..w.len() - suffix]) {
        w.truncate(w.len() - suffix);
        // `stopped` -> `stopp` -> `stop`, but `called` keeps its `ll`.
        let bytes = w.as_bytes();
        let n = bytes.len();
        if n >= 2 && bytes[n - 1] == bytes[n - 2] && !b"lsz".contains(&bytes[n - 1]) {
            w.pop();
        }
    }
    if w.len() > 3 {
        if w.ends_with('e') {
            w.pop();
        } else if w.ends_with('y') && !is_vowel(w.as_bytes()[w.len() - 2]) {
            w.pop();
            w.push('i');
        }
    }
}

fn has_vowel(text: &str) -> bool {
    text.bytes().any(is_vowel)
}

fn is_vowel(byte: u8) -> bool {
    matches!(byte, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Month names and words that ask about time; a question using one (or a year, or a date)
/// probably filters or groups on a date column.
#[rustfmt::skip]
pub(super) const TIME_WORDS: &[&str] = &[
    "annual", "april", "aug", "august", "daily", "date", "day", "days", "dec", "december", "feb",
    "february", "hour", "jan", "january", "jul", "july", "jun", "june", "mar", "march", "month",
    "monthly", "months", "nov", "november", "oct", "october", "quarter", "quarterly", "recent",
    "recently", "sep", "sept", "september", "today", "week", "weekly", "weeks", "when", "year",
    "yearly", "years", "yesterday",
];

/// Whether `text` mentions a time: a time word, a year (1900-2099) or a date like `2012/8/24`.
pub(super) fn mentions_time(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric() && c != '/' && c != '-')
        .any(|word| {
            let lower = word.to_lowercase();
            let is_year = lower.len() == 4
                && lower.chars().all(|c| c.is_ascii_digit())
                && (lower.starts_with("19") || lower.starts_with("20"));
            let is_date = lower.chars().any(|c| c.is_ascii_digit())
                && lower
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '/' || c == '-')
                && lower.matches(['/', '-']).count() == 2;
            is_year
                || is_date
                || lower
                    .split(['/', '-'])
                    .any(|part| TIME_WORDS.binary_search(&part).is_ok())
        })
}
