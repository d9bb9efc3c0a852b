"""One OAuth 2.0 authorization server (RFC 6749, RFC 7636) that every sandbox provider configures.

The mechanics live here once: authorization requests checked for a known client and the exact registered
redirect URI (failures are pages, never redirects), consent approve/cancel, single-use codes that expire,
client authentication, PKCE S256, refresh (one-time where the provider rotates) and revoke. Each provider
passes its `OAuthQuirks` (data) and `OAuthHooks` (scopes, consent page, token response).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, NoReturn

from fastapi import Request
from fastapi.responses import Response

from sandbox.oauth_checks import TwoClientAuths, client_credentials, secret_matches, verifier_matches
from sandbox.oauth_quirks import Approval, C, Denied, Failure, OAuthHooks, OAuthQuirks
from sandbox.pages import consent_page, error_page
from sandbox.store import JsonDict, SandboxStore
from sandbox.web import Rejected, guarded, json_response, query_values, read_form, redirect_with

if TYPE_CHECKING:
    from sandbox import SandboxApp


class AuthorizationServer(Generic[C]):
    """The authorize, token and revoke endpoints of one registered app at one provider."""

    def __init__(self, quirks: OAuthQuirks, hooks: OAuthHooks[C], app: SandboxApp, store: SandboxStore):
        self.quirks = quirks
        self.hooks = hooks
        self.app = app
        self.store = store

    # --- authorization endpoint ------------------------------------------------------------------

    @guarded
    async def show_consent(self, request: Request) -> Response:
        """GET authorize: the provider's checks, then its consent page (or an answer without one)."""
        params = self.trusted(query_values(request), request.path_params)
        try:
            parsed = await self.hooks.validate(params, request.path_params)
            approval = await self.hooks.on_show(params, parsed)
            if approval is not None:
                return await self._approved(params, approval)
        except Denied as denied:
            return self.callback(params, denied.query)
        return consent_page(self.hooks.consent(params, parsed, request.url.path))

    @guarded
    async def decide(self, request: Request) -> Response:
        """POST authorize: the consent form's approve or cancel, re-checked like the GET."""
        form = self.trusted(await read_form(request), request.path_params)
        try:
            parsed = await self.hooks.validate(form, request.path_params)
            decision = form.get("decision")
            if decision == "cancel":
                return self.callback(form, dict(self.quirks.cancel))
            if decision != "approve":
                raise Rejected(error_page("Invalid form", self.quirks.choose))
            return await self._approved(form, await self.hooks.approve(form, parsed))
        except Denied as denied:
            return self.callback(form, denied.query)

    def trusted(self, params: dict[str, str] | None, path: Mapping[str, Any]) -> dict[str, str]:
        """Until client and redirect URI are known good (exact match), errors are pages, never redirects."""
        if params is None:
            raise Rejected(self.quirks.malformed.page({}))
        self.hooks.check_path(path, "authorize")
        context = {"client_id": params.get("client_id", ""), "uri": params.get("redirect_uri", "")}
        if params.get("client_id") != self.app.client_id:
            raise Rejected(self.quirks.unknown_client.page(context))
        if params.get("redirect_uri") != self.app.redirect_uri:
            raise Rejected(self.quirks.redirect_mismatch.page(context))
        return params

    def callback(self, params: dict[str, str], query: dict[str, str]) -> Response:
        """302 to the registered redirect URI with `query` and the request's `state`."""
        if "state" in params:
            state = {"state": params["state"]}
            query = state | query if self.quirks.state_first else query | state
        return redirect_with(self.app.redirect_uri, query)

    async def _approved(self, params: dict[str, str], approval: Approval) -> Response:
        record: JsonDict = {"client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri}
        if self.quirks.pkce:  # the provider's `validate` made sure there is an S256 challenge
            record["code_challenge"] = params["code_challenge"]
        code = await self.issue_code(record | approval.record)
        return self.callback(params, {"code": code} | approval.query)

    async def issue_code(self, record: JsonDict) -> str:
        """A single-use authorization code bound to `record`, expiring after the provider's lifetime."""
        return self.quirks.code_prefix + await self.store.issue_code(record, self.quirks.code_ttl)

    # --- token endpoint --------------------------------------------------------------------------

    @guarded
    async def token(self, request: Request) -> Response:
        """POST (GET for Meta) token: authorization_code and refresh_token grants."""
        params = await self._token_params(request)
        grant_type = (params or {}).get("grant_type", self.quirks.default_grant)
        if params is None or grant_type == "authorization_code":
            await self.store.incr("token_exchanges")  # tests count exchanges, failed ones included
        elif grant_type == "refresh_token":
            await self.store.incr("refresh_grants")  # and refreshes (single-flight), failed ones included
        self.hooks.check_path(request.path_params, "token")
        if params is None:
            self.fail(Failure.MALFORMED)
        self.authenticate(request, params)
        if grant_type not in self.quirks.grants:
            failure = Failure.UNSUPPORTED_GRANT_TYPE if grant_type else Failure.MISSING_GRANT_TYPE
            self.fail(failure, grant_type=grant_type)
        if grant_type == "authorization_code":
            body = await self.hooks.issue(request, params, await self.redeem(params))
        else:
            body = await self.hooks.refresh(request, params, await self._refresh_record(params))
        return json_response(body, no_store=True)

    async def _token_params(self, request: Request) -> dict[str, str] | None:
        if self.quirks.params_from == "query":
            return query_values(request)
        return await read_form(request)

    def authenticate(self, request: Request, params: dict[str, str]) -> None:
        """Client authentication by the methods the provider allows, never two at once."""
        header = request.headers.get("authorization", "")
        try:
            client_id, secret = client_credentials(header, params, self.quirks.client_auth)
        except TwoClientAuths:
            self.fail(Failure.TWO_CLIENT_AUTHS)
        if not client_id:
            self.fail(Failure.MISSING_CLIENT_ID)
        if client_id != self.app.client_id:
            self.fail(Failure.UNKNOWN_CLIENT, client_id=client_id)
        if not secret:
            self.fail(Failure.MISSING_SECRET)
        if not secret_matches(secret, self.app.client_secret):
            self.fail(Failure.BAD_SECRET)

    async def redeem(self, params: dict[str, str]) -> JsonDict:
        """Consume a code (even when a later check fails) and check redirect URI and PKCE verifier."""
        code = params.get("code")
        if not code:
            self.fail(Failure.MISSING_CODE)
        record = await self._take_code(code)
        uri = params.get("redirect_uri", "")
        if uri != record["redirect_uri"]:
            self.fail(Failure.REDIRECT_MISMATCH, uri=uri)
        if self.quirks.pkce:
            verifier = params.get("code_verifier")
            if not verifier:
                self.fail(Failure.MISSING_VERIFIER)
            if not verifier_matches(verifier, record.get("code_challenge", "")):
                self.fail(Failure.BAD_VERIFIER)
        return record

    async def _take_code(self, code: str) -> JsonDict:
        prefix = self.quirks.code_prefix
        record = await self.store.take_code(code[len(prefix) :]) if code.startswith(prefix) else None
        memory = self.quirks.used_code_memory
        if record is None or record["client_id"] != self.app.client_id:
            used = memory and await self.store.get_secret("redeemed", code) is not None
            self.fail(Failure.USED_CODE if used else Failure.BAD_CODE)
        if memory:
            await self.store.put_secret("redeemed", code, {}, memory)
        return record

    async def _refresh_record(self, params: dict[str, str]) -> JsonDict:
        token = params.get("refresh_token")
        if not token:
            self.fail(Failure.MISSING_REFRESH)
        if self.quirks.refresh_rotates:
            record = await self.store.take_secret("refresh", token)
        else:
            record = await self.store.get_secret("refresh", token)
        if record is None or record["client_id"] != self.app.client_id:
            self.fail(Failure.BAD_REFRESH)
        return record

    # --- revocation endpoint (RFC 7009) ----------------------------------------------------------

    @guarded
    async def revoke(self, request: Request) -> Response:
        """POST revoke: revoking any token of an authorization revokes all of them."""
        form = await read_form(request)
        if self.quirks.revoke_authenticates:
            if form is None:
                self.fail(Failure.MALFORMED)
            self.authenticate(request, form)
        token = self._revoked_token(form or {}, query_values(request) or {})
        await self.store.incr("revocations")
        for kind in ("access", "refresh"):
            record = await self.store.get_secret(kind, token)
            if record is not None and record["client_id"] == self.app.client_id:
                await self.store.revoke_grant(record["grant"])
                await self.hooks.on_revoke(record)
                return json_response({})
        if self.quirks.revoke_unknown_is_error:
            self.fail(Failure.UNKNOWN_TOKEN)
        return json_response({})

    def _revoked_token(self, form: dict[str, str], query: dict[str, str]) -> str:
        sources = (form, query) if self.quirks.revoke_token_in_query else (form,)
        given = {source["token"] for source in sources if source.get("token")}
        if len(given) != 1:  # missing, or two different tokens
            self.fail(Failure.MISSING_TOKEN)
        return given.pop()

    def fail(self, failure: Failure, **context: str) -> NoReturn:
        """End the request with the provider's response for `failure`."""
        values = {"client_id": self.app.client_id, "uri": "", "grant_type": ""} | context
        raise Rejected(self.quirks.error(failure, values))
