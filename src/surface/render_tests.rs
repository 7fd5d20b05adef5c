//! Drafts, previews and answers that every surface's rendering tests draw.

use std::time::Duration;

use chrono::Utc;

use crate::bot::{Answer, Draft};
use crate::pipeline::SavedChart;
use crate::present::{ChartKind, Preview};
use crate::store::{ConversationId, DraftId, DraftState, UserId};
use crate::warehouse::{Column, Truncation, Value, ValueKind};

pub(crate) fn draft_of(question: &str, sql: &str) -> Draft {
    Draft {
        id: DraftId::new(),
        conversation: ConversationId::new(),
        author: UserId::new("slack:T1:U1"),
        connection: "default".to_owned(),
        question: question.to_owned(),
        sql: sql.to_owned(),
        explanation: Some("Counts orders per month.".to_owned()),
        estimated_rows: Some(1_200),
        scan: None,
        repair_rounds: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        state: DraftState::Pending,
        claimed_by: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        verified: None,
        message: None,
    }
}

/// `n_rows` rows of `n_columns` columns: the first an int, the others text made of `cell`.
pub(crate) fn preview_of(n_rows: usize, n_columns: usize, cell: &str) -> Preview {
    let columns = (0..n_columns)
        .map(|i| Column {
            name: format!("column_{i}"),
            type_name: if i == 0 { "int" } else { "text" }.to_owned(),
            kind: if i == 0 {
                ValueKind::Int
            } else {
                ValueKind::Text
            },
        })
        .collect();
    let rows = (0..n_rows)
        .map(|r| {
            (0..n_columns)
                .map(|i| {
                    if i == 0 {
                        Value::Int(r as i64)
                    } else {
                        Value::Text(format!("{cell}{r}"))
                    }
                })
                .collect()
        })
        .collect();
    Preview {
        columns,
        rows,
        total_rows: n_rows as u64,
        truncated: false,
    }
}

/// What the run returned: a preview, how many rows there were in all, whether a cap cut them.
pub(crate) struct Run<'a> {
    pub(crate) preview: Preview,
    pub(crate) row_count: u64,
    pub(crate) truncated: bool,
    pub(crate) chart: bool,
    pub(crate) summary: Option<&'a str>,
    pub(crate) question: &'a str,
}

impl Run<'_> {
    pub(crate) fn of(preview: Preview) -> Self {
        Run {
            row_count: preview.total_rows,
            preview,
            truncated: false,
            chart: false,
            summary: None,
            question: "orders per month?",
        }
    }

    pub(crate) fn answer(self) -> Answer {
        let mut preview = self.preview;
        preview.total_rows = self.row_count;
        preview.truncated = self.truncated;
        Answer {
            draft: draft_of(self.question, "select 1"),
            run: crate::store::RunId::new(),
            columns: preview.columns.clone(),
            preview,
            row_count: self.row_count,
            truncated: self.truncated.then_some(Truncation::Rows(self.row_count)),
            chart: self.chart.then(|| SavedChart {
                kind: ChartKind::Bar,
                path: "chart.png".into(),
                png: Vec::new(),
            }),
            csv: "result.csv".into(),
            elapsed: Duration::from_millis(1_400),
            summary: self.summary.map(str::to_owned),
        }
    }
}
