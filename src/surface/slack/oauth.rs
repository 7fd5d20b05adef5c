//! Multi-workspace installs with OAuth v2: `/slack/install` sends the installer to Slack with
//! a single-use `state`; `/slack/oauth/callback` checks it, exchanges the code and stores the
//! workspace's bot token, encrypted.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::Slack;
use crate::bot::SlackInstallation;

/// What the bot asks for; matches `manifests/slack-app.yaml`.
pub(super) const BOT_SCOPES: &str = "commands,app_mentions:read,chat:write,files:write,\
     channels:history,groups:history,im:history,mpim:history,usergroups:read";

/// How long an install link stays valid (Slack's codes live ten minutes too).
const STATE_LIFETIME_MINUTES: i64 = 10;

pub(super) async fn install(State(slack): State<Slack>) -> Response {
    let Some(oauth) = &slack.config().oauth else {
        return (StatusCode::NOT_FOUND, "OAuth installs are not configured").into_response();
    };
    let state = uuid::Uuid::new_v4().simple().to_string();
    if let Err(error) = slack.state().create_oauth_state(&state).await {
        tracing::warn!(%error, "cannot store OAuth state");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "querybot cannot start an install right now; try again shortly.",
        );
    }
    let query = serde_urlencoded::to_string([
        ("client_id", oauth.client_id.as_str()),
        ("scope", BOT_SCOPES),
        ("redirect_uri", &redirect_uri(&oauth.public_url)),
        ("state", &state),
    ])
    .unwrap_or_default();
    let authorize = format!("{}?{query}", authorize_url(&slack.config().api_url));
    (StatusCode::FOUND, [(header::LOCATION, authorize)]).into_response()
}

/// Slack's authorize page sits beside its API: `https://slack.com/oauth/v2/authorize`.
fn authorize_url(api_url: &str) -> String {
    let base = api_url.trim_end_matches('/');
    let base = base.strip_suffix("/api").unwrap_or(base);
    format!("{base}/oauth/v2/authorize")
}

fn redirect_uri(public_url: &str) -> String {
    format!("{public_url}/slack/oauth/callback")
}

#[derive(Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub(super) async fn callback(
    State(slack): State<Slack>,
    Query(callback): Query<Callback>,
) -> Response {
    let (Some(oauth), Some(cipher)) = (&slack.config().oauth, slack.cipher()) else {
        return (StatusCode::NOT_FOUND, "OAuth installs are not configured").into_response();
    };
    if let Some(error) = callback.error {
        return page(
            StatusCode::BAD_REQUEST,
            &format!(
                "The install was not completed ({error}). You can start again from /slack/install."
            ),
        );
    }
    let (Some(code), Some(state)) = (callback.code, callback.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "This link is missing its code; start the install from /slack/install.",
        );
    };
    let since = Utc::now() - Duration::minutes(STATE_LIFETIME_MINUTES);
    match slack.state().take_oauth_state(&state, since).await {
        Ok(true) => {}
        Ok(false) => {
            return page(
                StatusCode::BAD_REQUEST,
                "This install link expired or was already used; start again from /slack/install.",
            );
        }
        Err(error) => {
            tracing::warn!(%error, "cannot check OAuth state");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "querybot cannot finish the install right now; try again shortly.",
            );
        }
    }
    let access = match slack
        .api()
        .oauth_access(
            &oauth.client_id,
            &oauth.client_secret,
            &code,
            &redirect_uri(&oauth.public_url),
        )
        .await
    {
        Ok(access) => access,
        Err(error) => {
            tracing::warn!(error = %crate::bot::error_chain(&error), "OAuth exchange failed");
            return page(
                StatusCode::BAD_GATEWAY,
                "Slack did not accept this install; start again from /slack/install.",
            );
        }
    };
    let team = access.team.id.to_string();
    if !oauth.allowed_teams.allows(&team) {
        tracing::warn!(%team, "install refused: workspace not in SLACK_ALLOWED_TEAMS");
        return page(
            StatusCode::FORBIDDEN,
            "This workspace may not install this querybot; ask the person who runs it to add your workspace.",
        );
    }
    let token = secrecy::SecretString::from(access.access_token.to_string());
    let stored = match cipher.encrypt(&token) {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(%error, "cannot encrypt token");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "querybot could not store this install; try again.",
            );
        }
    };
    let Some(bot_user) = access.bot_user_id.as_ref().map(ToString::to_string) else {
        return page(
            StatusCode::BAD_GATEWAY,
            "Slack's answer has no bot user; check the app has a bot user and try again.",
        );
    };
    let team_name = access.team.name.clone();
    let installation = SlackInstallation {
        team_id: access.team.id.to_string(),
        enterprise_id: None,
        team_name: team_name.clone(),
        bot_user_id: bot_user,
        bot_token: stored,
        scope: access.scope.to_string(),
        app_id: Some(access.app_id.to_string()),
        installed_by: Some(access.authed_user.id.to_string()),
    };
    if let Err(error) = slack.state().save_slack_installation(&installation).await {
        tracing::warn!(%error, "cannot store installation");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "querybot could not store this install; try again.",
        );
    }
    tracing::info!(team = %installation.team_id, "workspace installed querybot");
    let name = team_name.unwrap_or_else(|| installation.team_id.clone());
    page(
        StatusCode::OK,
        &format!("querybot is installed in {name}. Try /ask in any channel you invite it to."),
    )
}

fn page(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    (
        status,
        Html(format!(
            "<!doctype html><title>querybot</title><p>{escaped}</p>"
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_page_sits_beside_the_api() {
        assert_eq!(
            authorize_url("https://slack.com/api/"),
            "https://slack.com/oauth/v2/authorize"
        );
        assert_eq!(
            authorize_url("http://127.0.0.1:9/api/"),
            "http://127.0.0.1:9/oauth/v2/authorize"
        );
    }
}
