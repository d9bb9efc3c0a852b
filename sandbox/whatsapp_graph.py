"""WhatsApp sandbox, Graph API side: nodes, phone numbers, subscribed_apps, register, messages
(PROVIDERS.md §6.4-6.8), under `/sandbox/whatsapp/graph/v{ver}/`; and the business's "Remove partner".

A business token reaches only the WABA it was granted for (its `granular_scopes` target ids) and that
WABA's phone numbers. Anything else answers like Meta does for objects you may not see: error 100,
subcode 33, "does not exist, cannot be loaded due to missing permissions".
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox import app_events, faults, whatsapp_templates
from sandbox import whatsapp_fixtures as fx
from sandbox.inbox import Card, Inbox, Message
from sandbox.pages import error_page
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import (
    FORM_TYPE,
    JSON_TYPE,
    Rejected,
    auth_token,
    guarded,
    json_response,
    media_type,
    read_form,
    read_json,
)

if TYPE_CHECKING:
    from sandbox import SandboxApp

VERSION = re.compile(r"v\d{1,2}\.\d")
RECIPIENT = re.compile(r"\+?\d{6,15}")
DEFAULT_LIMIT = 25
SENDABLE_TYPES = ("text", "template")  # what the sandbox models; Meta has many more
SUPPORT_URL = "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"


def graph_error(
    status_code: int,
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    challenge: str = "invalid_request",
    error_data: JsonDict | None = None,
) -> Response:
    """Meta's Graph error envelope, with the `WWW-Authenticate` header Graph sends alongside it."""
    error: JsonDict = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if error_data is not None:
        error["error_data"] = error_data
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    printable = "".join(ch if " " <= ch <= "~" and ch != '"' else "?" for ch in message[:300])
    header = f'OAuth "Facebook Platform" "{challenge}" "{printable}"'
    response = json_response({"error": error}, status_code, no_store=True)
    response.headers["WWW-Authenticate"] = header
    return response


def bad_param(message: str, details: str | None = None) -> Rejected:
    """Code 100, the answer to a missing or invalid parameter."""
    data = None if details is None else {"messaging_product": "whatsapp", "details": details}
    return Rejected(graph_error(400, f"(#100) {message}", 100, error_data=data))


def unsupported(method: str, object_id: str) -> Rejected:
    """Code 100/33: unknown object, or one the token may not see (Meta does not say which)."""
    message = (
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        f"loaded due to missing permissions, or does not support this operation. {SUPPORT_URL}"
    )
    return Rejected(graph_error(400, message, 100, subcode=33, kind="GraphMethodException"))


def check_version(version: str, path: str) -> None:
    """Graph paths start with a version like `v22.0`; anything else is an unknown path."""
    if not VERSION.fullmatch(version):
        raise Rejected(graph_error(400, f"Unknown path components: /{version}/{path}", 2500))


class GraphApi:
    """Graph endpoints a business token from Embedded Signup is used on."""

    def __init__(self, app: SandboxApp, store: SandboxStore) -> None:
        self.app = app
        self.store = store

    def add_routes(self, router: APIRouter) -> None:
        """Register the Graph routes (after the oauth/debug_token ones, which they would shadow)."""
        base = "/graph/{version}/{object_id}"
        send = faults.with_message_faults(self.store, "whatsapp", self.send_message)
        router.add_api_route(base + "/messages", send, methods=["POST"])
        for path, handler, methods in (
            ("/phone_numbers", self.phone_numbers, ["GET"]),
            ("/subscribed_apps", self.subscribed_apps, ["GET", "POST", "DELETE"]),
            ("/register", self.register, ["POST"]),
            ("/deregister", self.register, ["POST"]),
            ("", self.node, ["GET"]),
        ):
            wrapped = faults.with_faults(self.store, "whatsapp", "api", handler)
            router.add_api_route(base + path, wrapped, methods=methods)
        router.add_api_route("/apps/remove", self.remove_partner, methods=["POST"])
        router.add_api_route("/graph/{path:path}", self.unknown_path, methods=["GET", "POST", "DELETE"])

    async def remove_partner(self, request: Request) -> Response:
        """The business removes our app from a WABA: its tokens and webhook subscription end, and the
        app's webhook gets `account_update` / `PARTNER_REMOVED` (signed with the app secret)."""
        waba = fx.waba((await read_form(request) or {}).get("waba_id"))
        if waba is None:
            return error_page("Unknown account", "Pick one of the WhatsApp Business Accounts.")
        for hashed in await self.store.members(f"waba_tokens:{waba.id}"):
            await self.store.delete("token", hashed)
            await self.store.remove_flag(f"waba_tokens:{waba.id}", hashed)
        await self.store.delete("subscription", waba.id)
        owner = next(b.id for b in fx.BUSINESSES if waba in b.wabas)
        info = {"waba_id": waba.id, "owner_business_id": owner, "partner_app_id": self.app.client_id}
        change = {"field": "account_update", "value": {"event": "PARTNER_REMOVED", "waba_info": info}}
        entry = {"id": owner, "time": app_events.now(), "changes": [change]}
        body = app_events.encode({"object": "whatsapp_business_account", "entry": [entry]})
        url = app_events.events_url(self.app.redirect_uri, "whatsapp")
        sent = await app_events.post(url, body, app_events.meta_headers(body, self.app.client_secret))
        return sent.html(f"WhatsApp (sandbox): partner removed from {waba.name}")

    async def token_record(self, request: Request) -> JsonDict:
        """The grant behind the request's business token (Bearer header or `access_token` param)."""
        token = auth_token(request, "Bearer") or auth_token(request, "OAuth")
        token = token or request.query_params.get("access_token")
        if not token:
            message = "An access token is required to request this resource."
            raise Rejected(graph_error(401, message, 104, challenge="invalid_token"))
        record = await self.store.get_secret("token", token)
        if record is None or record["client_id"] != self.app.client_id:
            message = "Invalid OAuth access token - Cannot parse access token"
            raise Rejected(graph_error(401, message, 190, challenge="invalid_token"))
        return record

    async def _granted_waba(self, request: Request, version: str, object_id: str) -> fx.Waba:
        check_version(version, object_id)
        record = await self.token_record(request)
        waba = fx.waba(object_id)
        if waba is None or waba.id != record["waba_id"]:
            raise unsupported(request.method, object_id)
        return waba

    async def _granted_phone(self, request: Request, version: str, object_id: str) -> fx.PhoneNumber:
        check_version(version, object_id)
        record = await self.token_record(request)
        found = fx.phone(object_id)
        if found is None or found[0].id != record["waba_id"]:
            raise unsupported(request.method, object_id)
        return found[1]

    @guarded
    async def node(self, request: Request, version: str, object_id: str) -> Response:
        """GET /{id}?fields=...: a phone number or WABA node, only the fields asked for (+ `id`)."""
        check_version(version, object_id)
        record = await self.token_record(request)
        found = fx.phone(object_id)
        waba = fx.waba(object_id)
        if found is not None and found[0].id == record["waba_id"]:
            return json_response(_fields(found[1].node(), request, "WhatsAppBusinessPhoneNumber"))
        if waba is not None and waba.id == record["waba_id"]:
            return json_response(_fields(waba.node(), request, "WhatsAppBusinessAccount"))
        raise unsupported("GET", object_id)

    @guarded
    async def phone_numbers(self, request: Request, version: str, object_id: str) -> Response:
        """GET /{waba_id}/phone_numbers with Graph cursor paging (`limit`, `after`, `before`)."""
        waba = await self._granted_waba(request, version, object_id)
        nodes = [_fields(p.node(), request, "WhatsAppBusinessPhoneNumber") for p in waba.phones]
        return json_response(_page(nodes, request))

    @guarded
    async def subscribed_apps(self, request: Request, version: str, object_id: str) -> Response:
        """GET lists, POST subscribes this app to the WABA's webhooks, DELETE unsubscribes."""
        waba = await self._granted_waba(request, version, object_id)
        if request.method == "GET":
            current = await self.store.get("subscription", waba.id)
            return json_response({"data": [current] if current else []})
        if request.method == "DELETE":
            await self.store.delete("subscription", waba.id)
            await self.store.incr("revocations")
            return json_response({"success": True})
        await self.store.put("subscription", waba.id, await self._subscription(request))
        return json_response({"success": True})

    async def _subscription(self, request: Request) -> JsonDict:
        args = await _body_args(request)
        entry: JsonDict = {"whatsapp_business_api_data": {"id": self.app.client_id, "name": self.app.name}}
        uri = args.get("override_callback_uri")
        if uri is None:
            return entry
        if not isinstance(uri, str) or not uri.startswith("https://"):
            raise bad_param("Param override_callback_uri must be a valid https URL")
        if not isinstance(args.get("verify_token"), str) or not args["verify_token"]:
            raise bad_param("The parameter verify_token is required.")
        return entry | {"override_callback_uri": uri}

    @guarded
    async def register(self, request: Request, version: str, object_id: str) -> Response:
        """POST /{phone_number_id}/register (json messaging_product + 6-digit pin) or /deregister."""
        phone = await self._granted_phone(request, version, object_id)
        if request.url.path.endswith("/deregister"):
            await self.store.remove_flag("registered", phone.id)
            return json_response({"success": True})
        args = await _body_args(request)
        _require_product(args)
        pin = args.get("pin")
        if not isinstance(pin, str) or not (len(pin) == 6 and pin.isdigit()):
            raise bad_param("Param pin must be 6 characters long.")
        await self.store.add_flag("registered", phone.id)
        return json_response({"success": True})

    @guarded
    async def send_message(self, request: Request, version: str, object_id: str) -> Response:
        """POST /{phone_number_id}/messages: text or template, recorded as a delivery."""
        phone = await self._granted_phone(request, version, object_id)
        payload = await read_json(request) if media_type(request) == JSON_TYPE else None
        args = payload if isinstance(payload, dict) else {}
        _require_product(args)
        to = args.get("to")
        if not to:
            raise bad_param("The parameter to is required.")
        if not isinstance(to, str) or not RECIPIENT.fullmatch(to):
            raise bad_param("Invalid parameter", "Parameter 'to' is not a valid phone number")
        kind = args.get("type", "text")
        text, cards = _content(kind, args)
        thread = await self._thread(phone, to, args.get("context"))
        await self.store.record_delivery({"phone_number_id": phone.id} | args)
        message: JsonDict = {"id": f"wamid.{secrets.token_urlsafe(30)}"}
        if kind == "template":
            message["message_status"] = "accepted"
        await self.store.put("message", message["id"], {"to": to, "phone": phone.id, "thread": thread})
        received = Message(message["id"], text, "plain", thread, phone.verified_name, "cloud api", cards)
        name = f"+{to.lstrip('+')} (from {phone.display_phone_number})"
        await Inbox(self.store).receive(f"{phone.id}:{to.lstrip('+')}", name, received)
        contact = {"input": to, "wa_id": to.lstrip("+")}
        return json_response({"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]})

    async def _thread(self, phone: fx.PhoneNumber, to: str, context: Any) -> str | None:
        """`context.message_id` quotes an earlier message of this conversation (shown as a reply)."""
        if context is None:
            return None
        quoted = context.get("message_id") if isinstance(context, dict) else None
        record = await self.store.get("message", quoted) if isinstance(quoted, str) else None
        if record is None or (record["to"], record["phone"]) != (to, phone.id):
            raise bad_param(
                "Invalid parameter", "Parameter 'context.message_id' is not a message of this chat"
            )
        return record["thread"] or quoted

    @guarded
    async def unknown_path(self, request: Request, path: str) -> Response:
        """Anything else under /graph: Graph's unknown-path error rather than a bare 404."""
        raise Rejected(graph_error(400, f"Unknown path components: /{path}", 2500))


def _fields(node: JsonDict, request: Request, node_type: str) -> JsonDict:
    raw = request.query_params.get("fields")
    if not raw:
        return node
    wanted = [name.strip() for name in raw.split(",") if name.strip()]
    for name in wanted:
        if name not in node:
            raise bad_param(f"Tried accessing nonexisting field ({name}) on node type ({node_type})")
    return {name: node[name] for name in [*wanted, "id"]}


def _page(nodes: list[JsonDict], request: Request) -> JsonDict:
    """Graph cursor paging (`limit`, `after`): cursors are opaque; `next` only when there is more."""
    raw_limit = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or int(raw_limit) < 1:
        raise bad_param("Param limit must be a positive integer")
    ids = [str(node["id"]) for node in nodes]
    start = _cursor_index(request.query_params.get("after"), ids)
    items = nodes[start : start + int(raw_limit)]
    if not items:
        return {"data": []}
    first, last = _cursor(items[0]["id"]), _cursor(items[-1]["id"])
    paging: JsonDict = {"cursors": {"before": first, "after": last}}
    if start + len(items) < len(nodes):
        paging["next"] = str(request.url.include_query_params(after=last))
    return {"data": items, "paging": paging}


def _cursor(node_id: Any) -> str:
    return "QVFI" + str(node_id).encode().hex()  # Meta's cursors are opaque strings starting "QVFI"


def _cursor_index(raw: str | None, ids: list[str]) -> int:
    """Index just past the node the cursor names; 0 without a cursor."""
    if raw is None:
        return 0
    try:
        node_id = bytes.fromhex(raw.removeprefix("QVFI")).decode()
    except ValueError:  # not hex, or not UTF-8
        node_id = ""
    if not raw.startswith("QVFI") or node_id not in ids:
        raise bad_param("Invalid pagination cursor")
    return ids.index(node_id) + 1


async def _body_args(request: Request) -> dict[str, Any]:
    if media_type(request) == JSON_TYPE:
        body = await read_json(request)
        return body if isinstance(body, dict) else {}
    if media_type(request) == FORM_TYPE:
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    return {}


def _require_product(args: dict[str, Any]) -> None:
    product = args.get("messaging_product")
    if not product:
        raise bad_param("The parameter messaging_product is required.")
    if product != "whatsapp":
        raise bad_param(f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".')


def _content(kind: Any, args: dict[str, Any]) -> tuple[str, tuple[Card, ...]]:
    """The text and cards the recipient sees, or Meta's error for the content."""
    if kind not in SENDABLE_TYPES:
        raise bad_param("Invalid parameter", "Parameter 'type' is not supported by the sandbox")
    content = args.get(kind)
    if not isinstance(content, dict):
        raise bad_param(f"The parameter {kind} is required.")
    try:
        if kind == "text":
            return whatsapp_templates.check_text(content), ()
        return "", (whatsapp_templates.check_template(content),)
    except whatsapp_templates.ContentError as exc:
        data = None if exc.details is None else {"messaging_product": "whatsapp", "details": exc.details}
        raise Rejected(graph_error(400, str(exc), exc.code, error_data=data)) from None
