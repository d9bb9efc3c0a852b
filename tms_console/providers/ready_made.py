"""Ready-made payload templates of the outgoing webhook: one generic, one per chat provider's webhook.

Provider data (each names a provider's message shape); each renders every sample event, and
tests/unit/test_templates.py checks the shape each target expects.
"""

from __future__ import annotations

_HEADER = """\
{%- set label = event_labels.get(event.type, event.type) -%}
{%- set heading = label ~ ": #" ~ ticket.number ~ " " ~ ticket.subject -%}
{%- set detail = changes.comment.body if changes.comment is defined
    else "Status: " ~ ticket.status ~ " · Priority: " ~ ticket.priority -%}
{%- set assignee = ticket.assignee.name if ticket.assignee else "Unassigned" -%}
"""

READY_MADE: dict[str, str] = {
    # The event exactly as the TMS produced it.
    "generic": "{{ event }}\n",
    # Slack incoming webhook: {"text", "blocks"} (PROVIDERS.md §2.8); user text escaped for mrkdwn.
    "slack": _HEADER
    + """{
  "text": {{ heading | slack_escape }},
  "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": {{ heading | truncate(150, true, "…", 0) }}}},
    {"type": "section", "text": {"type": "mrkdwn",
      "text": {{ (detail | slack_escape | truncate(2900, true, "…", 0)) or "-" }}}},
    {"type": "section", "fields": [
      {"type": "mrkdwn", "text": {{ "*Status*\\n" ~ ticket.status }}},
      {"type": "mrkdwn", "text": {{ "*Priority*\\n" ~ ticket.priority }}},
      {"type": "mrkdwn", "text": {{ "*Assignee*\\n" ~ (assignee | slack_escape) }}},
      {"type": "mrkdwn", "text": {{ "*By*\\n" ~ (actor.name | slack_escape) }}}
    ]},
    {"type": "actions", "elements": [
      {"type": "button", "text": {"type": "plain_text", "text": "Open ticket"}, "url": {{ ticket.url }}}
    ]}
  ]
}
""",
    # Teams Incoming Webhook / Workflows: a message with one Adaptive Card (PROVIDERS.md §3.8).
    "msteams": _HEADER
    + """{
  "type": "message",
  "attachments": [{
    "contentType": "application/vnd.microsoft.card.adaptive",
    "contentUrl": null,
    "content": {
      "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
      "type": "AdaptiveCard",
      "version": "1.2",
      "body": [
        {"type": "TextBlock", "text": {{ label ~ ": #" ~ ticket.number }},
         "weight": "Bolder", "size": "Medium", "wrap": true},
        {"type": "TextBlock", "text": {{ ticket.subject }}, "wrap": true},
        {"type": "TextBlock", "text": {{ detail | truncate(1000, true, "…", 0) }},
         "wrap": true, "isSubtle": true},
        {"type": "FactSet", "facts": [
          {"title": "Status", "value": {{ ticket.status }}},
          {"title": "Priority", "value": {{ ticket.priority }}},
          {"title": "Assignee", "value": {{ assignee }}},
          {"title": "By", "value": {{ actor.name }}}
        ]}
      ],
      "actions": [{"type": "Action.OpenUrl", "title": "Open ticket", "url": {{ ticket.url }}}]
    }
  }]
}
""",
    # Google Chat incoming webhook: {"text"} with Chat's *bold* and <url|label> link syntax (§4.6).
    "google_chat": _HEADER
    + """{
  "text": {{ "*" ~ label ~ "* <" ~ ticket.url ~ "|#" ~ ticket.number ~ ">: " ~ ticket.subject
             ~ "\\nStatus: " ~ ticket.status ~ " · Priority: " ~ ticket.priority ~ " · Assignee: " ~ assignee
             ~ "\\n" ~ (detail | truncate(1000, true, "…", 0)) }}
}
""",
    # Discord webhook: {"content", "embeds"} within Discord's limits; mentions disabled (§1.8).
    "discord": _HEADER
    + """{%- set colors = {"urgent": 15548997, "high": 15105570, "normal": 3447003, "low": 9807270} -%}
{
  "content": {{ heading | truncate(2000, true, "…", 0) }},
  "embeds": [{
    "title": {{ ("#" ~ ticket.number ~ " " ~ ticket.subject) | truncate(256, true, "…", 0) }},
    "url": {{ ticket.url }},
    "description": {{ (detail | truncate(4000, true, "…", 0)) or "-" }},
    "color": {{ colors.get(ticket.priority, 5793266) }},
    "fields": [
      {"name": "Status", "value": {{ ticket.status }}, "inline": true},
      {"name": "Priority", "value": {{ ticket.priority }}, "inline": true},
      {"name": "Assignee", "value": {{ assignee }}, "inline": true}
    ],
    "footer": {"text": {{ label ~ " · by " ~ actor.name }}},
    "timestamp": {{ event.occurred_at }}
  }],
  "allowed_mentions": {"parse": []}
}
""",
}
