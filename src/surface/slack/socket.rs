//! Socket Mode: Slack delivers the same payloads over a WebSocket the bot opens, so no public
//! URL is needed.
//!
//! Every envelope is acknowledged by its `envelope_id` at once and handled like its HTTP
//! twin (same parser, same dedupe). On `disconnect` a successor connection is opened while
//! the old one is still read until Slack closes it, so nothing sent in between is lost;
//! anything delivered twice is dropped by the dedupe in the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::{SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as Frame;

use super::Slack;
use super::ingress;
use super::payload::{self, Inbound};

/// Runs Socket Mode until `shutdown` turns true.
pub async fn serve(slack: Slack, app_token: SecretString, shutdown: watch::Receiver<bool>) {
    let (wanted, mut requests) = mpsc::channel::<()>(8);
    let failures = Arc::new(AtomicU32::new(0));
    let _ = wanted.send(()).await;
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(()) = requests.recv() => {
                let connection = Connection {
                    slack: slack.clone(),
                    app_token: app_token.clone(),
                    successor: wanted.clone(),
                    failures: failures.clone(),
                    shutdown: shutdown.clone(),
                };
                tokio::spawn(connection.run());
            }
        }
    }
}

struct Connection {
    slack: Slack,
    app_token: SecretString,
    /// Asks `serve` for the next connection.
    successor: mpsc::Sender<()>,
    /// Consecutive failures to connect, for backoff.
    failures: Arc<AtomicU32>,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self) {
        let socket = match self.slack.api().open_socket(&self.app_token).await {
            Ok(url) => tokio_tungstenite::connect_async(url)
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(crate::bot::error_chain(&error)),
        };
        let (mut sink, mut stream) = match socket {
            Ok((socket, _)) => socket.split(),
            Err(error) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed);
                let wait = backoff(failures);
                tracing::warn!(%error, retry_in_ms = wait.as_millis(), "Socket Mode connection failed");
                tokio::time::sleep(wait).await;
                let _ = self.successor.send(()).await;
                return;
            }
        };
        let mut replaced = false;
        loop {
            let frame = tokio::select! {
                _ = self.shutdown.changed() => {
                    let _ = sink.send(Frame::Close(None)).await;
                    return;
                }
                frame = stream.next() => frame,
            };
            let text = match frame {
                Some(Ok(Frame::Text(text))) => text,
                Some(Ok(Frame::Ping(data))) => {
                    let _ = sink.send(Frame::Pong(data)).await;
                    continue;
                }
                Some(Ok(Frame::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => continue,
            };
            let Ok(envelope) = serde_json::from_str::<Value>(text.as_str()) else {
                tracing::warn!("Socket Mode frame is not JSON");
                continue;
            };
            match envelope["type"].as_str().unwrap_or_default() {
                "hello" => {
                    self.failures.store(0, Ordering::Relaxed);
                    tracing::info!("Socket Mode connected");
                }
                "disconnect" => {
                    tracing::info!(reason = %envelope["reason"], "Socket Mode asked to reconnect");
                    if !replaced {
                        replaced = true;
                        let _ = self.successor.send(()).await;
                    }
                }
                kind => {
                    let Some(ack) = answer(&self.slack, kind, &envelope).await else {
                        continue;
                    };
                    if sink
                        .send(Frame::Text(ack.to_string().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        if !replaced {
            // Closed without notice: connect again, after a pause if this keeps happening.
            tokio::time::sleep(backoff(self.failures.fetch_add(1, Ordering::Relaxed))).await;
            let _ = self.successor.send(()).await;
        }
    }
}

/// Handles one envelope and returns its acknowledgement (with a response payload where the
/// platform expects one: command help, modal errors).
async fn answer(slack: &Slack, kind: &str, envelope: &Value) -> Option<Value> {
    let id = envelope["envelope_id"].as_str()?;
    let body = &envelope["payload"];
    let kept = payload::Kept::new(kind, body.clone());
    let inbound = kept.inbound();
    let response = match inbound {
        Ok(Inbound::EditSubmitted(edit)) => ingress::edit_answer(slack, &edit).await,
        Ok(Inbound::Command(command)) if command.text.trim().is_empty() => {
            Some(json!({ "response_type": "ephemeral", "text": Slack::help() }))
        }
        Ok(inbound) => {
            let command = matches!(inbound, Inbound::Command(_));
            match ingress::dispatch(slack.clone(), inbound, &kept).await {
                ingress::Dispatched::StoreDown if command => {
                    Some(json!({ "response_type": "ephemeral", "text": crate::bot::STORE_DOWN }))
                }
                _ => None,
            }
        }
        Err(error) => {
            // Acknowledged all the same: a payload we cannot read would come back forever.
            tracing::warn!(%error, "malformed Socket Mode payload");
            None
        }
    };
    Some(match response {
        Some(payload) => json!({ "envelope_id": id, "payload": payload }),
        None => json!({ "envelope_id": id }),
    })
}

/// The pause before the next attempt after `failures` failed ones.
fn backoff(failures: u32) -> Duration {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(30))
        .with_max_times(usize::MAX)
        .build()
        .nth(failures as usize)
        .unwrap_or(Duration::from_secs(30))
}
