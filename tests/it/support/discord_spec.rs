//! Discord's official OpenAPI description as a judge of request bodies: the fake Discord asks
//! it whether the real Discord would take what querybot sent. The description is a public
//! preview; where it is stricter than Discord itself, [`LENIENCIES`] says so and why.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::testdata;

/// Where the description is stricter than Discord: what is allowed, why, and how a copy of
/// the body is made to say it the description's way before it is checked (never what the
/// fake keeps).
pub(crate) struct Leniency {
    pub(crate) path: &'static str,
    pub(crate) reason: &'static str,
    apply: fn(&mut Value),
}

pub(crate) const LENIENCIES: &[Leniency] = &[Leniency {
    path: "attachments[].id",
    reason: "twilight (like serenity) sends attachment ids in payload_json as integers; the \
             description types them as strings, and Discord accepts both",
    apply: attachment_ids_as_strings,
}];

/// The leniencies, as a note under a violation: what was already allowed, and why.
pub(crate) fn leniencies() -> String {
    LENIENCIES
        .iter()
        .map(|l| format!("{} ({})", l.path, l.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) struct Spec {
    document: Value,
    validators: Mutex<HashMap<(String, String, bool), Option<jsonschema::Validator>>>,
}

impl Spec {
    pub(crate) fn load() -> Spec {
        let path = testdata("discord/openapi/openapi.json");
        let text = std::fs::read_to_string(&path).expect("Discord's OpenAPI description");
        Spec {
            document: serde_json::from_str(&text).expect("the description is JSON"),
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The description's path template for a request path (`/channels/1/messages` ->
    /// `/channels/{channel_id}/messages`), preferring literal segments (`/users/@me`).
    pub(crate) fn route(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.document["paths"].as_object()?;
        paths
            .keys()
            .filter_map(|template| {
                let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literal = 0;
                for (part, segment) in parts.iter().zip(&segments) {
                    if part.starts_with('{') {
                        continue;
                    }
                    if part != segment {
                        return None;
                    }
                    literal += 1;
                }
                Some((literal, template.clone()))
            })
            .max()
            .map(|(_, template)| template)
    }

    /// Problems with a JSON body (or a multipart request's `payload_json`) for `method` on
    /// `route`; empty when Discord's description accepts it. A route or method the
    /// description lacks is a problem too.
    pub(crate) fn problems(
        &self,
        method: &str,
        route: &str,
        body: &Value,
        multipart: bool,
    ) -> Vec<String> {
        let key = (method.to_lowercase(), route.to_owned(), multipart);
        let mut validators = self.validators.lock().expect("spec lock");
        let validator = validators
            .entry(key)
            .or_insert_with(|| self.validator(&method.to_lowercase(), route));
        let Some(validator) = validator else {
            return vec![format!(
                "{method} {route} takes no body in Discord's description"
            )];
        };
        let mut body = body.clone();
        for leniency in LENIENCIES {
            (leniency.apply)(&mut body);
        }
        validator
            .iter_errors(&body)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect()
    }

    fn validator(&self, method: &str, route: &str) -> Option<jsonschema::Validator> {
        let operation = &self.document["paths"][route][method];
        let schema = operation["requestBody"]["content"]["application/json"]["schema"].clone();
        if schema.is_null() {
            return None;
        }
        // The schema with the description's components beside it, so `#/components/...`
        // references resolve within one document.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
            "allOf": [schema],
        });
        Some(
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&root)
                .expect("the description's schemas compile"),
        )
    }
}

fn attachment_ids_as_strings(body: &mut Value) {
    if let Some(attachments) = body.get_mut("attachments").and_then(Value::as_array_mut) {
        for attachment in attachments {
            if let Some(id) = attachment.get("id").and_then(Value::as_u64) {
                attachment["id"] = Value::String(id.to_string());
            }
        }
    }
}
