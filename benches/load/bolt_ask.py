"""The peer of the load benchmark: `/ask` written the way Slack Bolt for Python suggests.

An async Bolt app served by uvicorn (one process): it acknowledges the command at once and,
in the background, posts a placeholder in the channel, asks the LLM (OpenAI-compatible chat
completions, one shared aiohttp session) and replaces the placeholder with the SQL and a Run
button. Slack's 429s are retried after Retry-After (slack_sdk's rate-limit retry handler), as
a Bolt app that posts in bursts must. Settings come from the same variables querybot reads.

Run: uvicorn --app-dir benches/load bolt_ask:api --port PORT
"""

import os

import aiohttp
from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

client = AsyncWebClient(
    token=os.environ["SLACK_BOT_TOKEN"],
    base_url=os.environ["SLACK_API_URL"].rstrip("/") + "/",
)
client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=100))
app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
llm_url = os.environ["LLM_BASE_URL"].rstrip("/") + "/chat/completions"
session = None


async def ask_llm(question):
    global session
    if session is None:
        session = aiohttp.ClientSession(
            headers={"Authorization": "Bearer " + os.environ["LLM_API_KEY"]}
        )
    body = {
        "model": os.environ["LLM_MODEL"],
        "messages": [
            {"role": "system", "content": "Write one SQLite query for the question."},
            {"role": "user", "content": question},
        ],
    }
    async with session.post(llm_url, json=body) as response:
        answer = await response.json()
    content = answer["choices"][0]["message"]["content"]
    return content.split("```sql\n", 1)[1].split("```", 1)[0].strip()


@app.command("/ask")
async def ask(ack, command, client):
    await ack()
    channel = command["channel_id"]
    placeholder = await client.chat_postMessage(
        channel=channel, text=f"Writing SQL for: {command['text']}"
    )
    sql = await ask_llm(command["text"])
    await client.chat_update(
        channel=channel,
        ts=placeholder["ts"],
        text=sql,
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{sql}```"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "querybot_run",
                        "text": {"type": "plain_text", "text": "Run"},
                        "value": "draft",
                        "style": "primary",
                    }
                ],
            },
        ],
    )


api = AsyncSlackRequestHandler(app)
