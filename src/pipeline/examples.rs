//! Verified examples: question and SQL pairs per connection, the most similar few go into
//! the prompt.
//!
//! Pairs come from a YAML file named in the connection's settings and from pairs promoted
//! in chat (kept in the store). Similarity is word overlap, which is cheap and, for the handful
//! of curated pairs a team keeps, good enough to surface the right precedent.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One verified pair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub question: String,
    pub sql: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExamplesError {
    #[error("cannot read examples file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("examples file {path} is not a YAML list of {{question, sql}} pairs: {message}")]
    Parse { path: String, message: String },
}

/// Writes pairs as the YAML list [`load`] reads.
pub fn to_yaml(pairs: &[Example]) -> Result<String, serde_yaml_ng::Error> {
    serde_yaml_ng::to_string(pairs)
}

/// Reads a YAML list of `{question, sql}` pairs.
pub fn load(path: &Path) -> Result<Vec<Example>, ExamplesError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExamplesError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_yaml_ng::from_str(&text).map_err(|e| ExamplesError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The `k` examples whose questions share the most words with `question`, best first;
/// examples sharing no meaningful word are left out.
pub fn most_similar<'a>(
    examples: impl IntoIterator<Item = &'a Example>,
    question: &str,
    k: usize,
) -> Vec<&'a Example> {
    let asked = words(question);
    let mut scored: Vec<(f64, usize, &Example)> = examples
        .into_iter()
        .enumerate()
        .filter_map(|(i, example)| {
            let theirs = words(&example.question);
            let shared = asked.intersection(&theirs).count();
            let union = asked.union(&theirs).count();
            (shared > 0).then(|| (shared as f64 / union as f64, i, example))
        })
        .collect();
    // Highest score first; ties keep the given order so prompts are stable.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(k)
        .map(|(_, _, example)| example)
        .collect()
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "by", "can", "did", "do", "does", "for", "from", "give", "how", "i",
    "in", "is", "it", "list", "me", "many", "much", "of", "on", "or", "per", "show", "the", "to",
    "was", "we", "were", "what", "which", "who", "with",
];

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            // Fold simple plurals so "orders" meets "order".
            match w.strip_suffix('s') {
                Some(stem) if stem.len() > 2 && !stem.ends_with('s') => stem.to_owned(),
                _ => w,
            }
        })
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(question: &str) -> Example {
        Example {
            question: question.to_owned(),
            sql: format!("-- {question}"),
        }
    }

    fn check(question: &str, expected: &[&str]) {
        let examples = [
            example("How many orders per month in 2024?"),
            example("Top 10 customers by revenue"),
            example("Revenue by region and month"),
            example("Which products were refunded most often?"),
        ];
        let found: Vec<&str> = most_similar(&examples, question, 2)
            .into_iter()
            .map(|e| e.question.as_str())
            .collect();
        assert_eq!(found, expected, "{question}");
    }

    #[test]
    fn similar_questions_come_first() {
        check(
            "number of orders by month",
            &[
                "How many orders per month in 2024?",
                "Revenue by region and month",
            ],
        );
        check(
            "best customers by revenue",
            &["Top 10 customers by revenue", "Revenue by region and month"],
        );
        check(
            "refunded products",
            &["Which products were refunded most often?"],
        );
        check("what is the weather", &[]);
        check("", &[]);
    }

    #[test]
    fn yaml_files_load_and_bad_ones_say_why() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("good.yaml");
        std::fs::write(
            &good,
            "- question: Orders per month\n  sql: |\n    SELECT 1\n- question: Revenue\n  sql: SELECT 2\n",
        )
        .expect("write");
        let examples = load(&good).expect("loads");
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].sql, "SELECT 1\n");

        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "- question: no sql here\n").expect("write");
        let error = load(&bad).expect_err("missing sql");
        assert!(error.to_string().contains("bad.yaml"), "{error}");
        assert!(matches!(
            load(&dir.path().join("missing.yaml")),
            Err(ExamplesError::Read { .. })
        ));
    }
}
