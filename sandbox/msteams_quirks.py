"""Entra's authorization server as data: AADSTS texts and error shapes (PROVIDERS.md §3.2-3.4).

AADSTS numbers other than 50011 and 65001 are recalled from Entra's error reference, not from PROVIDERS.md.
"""

from __future__ import annotations

from sandbox.msteams_tokens import aad_error
from sandbox.oauth_quirks import ErrorFactory, Failure, OAuthQuirks, PageError

CODE_TTL = 600  # "code lives ~10 minutes" (PROVIDERS.md §3.2)
CANCELED = "the user canceled the authentication"  # PROVIDERS.md §3.2
NOT_CONSENTED = (
    "The user or administrator has not consented to use the application with ID '{client_id}' named "
    "'{name}'. Send an interactive authorization request for this user and resource."
)
REDIRECT_MISMATCH = (
    "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for "
    "the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to "
    "your application in the Azure portal."
)

BAD_SCOPE = (
    "The provided value for the input parameter 'scope' is not valid. The scope '{scope}' does not exist."
)
BAD_SECRET = (
    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
    "value, not the client secret ID, for a secret added to app '{client_id}'."
)
REDEEMED = (
    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
    "existing refresh token."
)
PKCE_MISMATCH = (
    "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."
)


def missing(name: str) -> str:
    """AADSTS900144's text: a required parameter is absent."""
    return f"The request body must contain the following parameter: '{name}'."


UNSUPPORTED = "The app requested an unsupported grant type '{grant_type}'."
UNKNOWN_APP = "Application with identifier '{client_id}' was not found in the directory."
BAD_REFRESH = "Invalid request. The refresh token is malformed, unknown or was already used."
TWO_AUTHS = "Invalid request. Send the client secret either in the body or as HTTP Basic, not both."


def _aad(error: str, code: int, message: str, status: int = 400) -> ErrorFactory:
    return lambda context: aad_error(error, code, message.format_map(context), status)


QUIRKS = OAuthQuirks(
    pkce=True,
    code_ttl=CODE_TTL,
    used_code_memory=CODE_TTL,  # a redeemed code answers AADSTS54005, not "invalid"
    malformed=PageError("Sign in", "AADSTS9002313: Invalid request. Request is malformed."),
    unknown_client=PageError(
        "Sign in", "AADSTS700016: Application with identifier '{client_id}' was not found."
    ),
    redirect_mismatch=PageError("Sign in", "AADSTS50011: " + REDIRECT_MISMATCH),
    cancel={"error": "access_denied", "error_description": CANCELED},
    choose="Choose Accept or Cancel.",
    errors={
        Failure.MALFORMED: _aad("invalid_request", 900144, missing("grant_type")),
        Failure.MISSING_GRANT_TYPE: _aad("invalid_request", 900144, missing("grant_type")),
        Failure.UNSUPPORTED_GRANT_TYPE: _aad("unsupported_grant_type", 70003, UNSUPPORTED),
        Failure.TWO_CLIENT_AUTHS: _aad("invalid_request", 9002313, TWO_AUTHS),  # (code number recalled)
        Failure.MISSING_CLIENT_ID: _aad("invalid_request", 900144, missing("client_id")),
        Failure.UNKNOWN_CLIENT: _aad("unauthorized_client", 700016, UNKNOWN_APP),
        Failure.MISSING_SECRET: _aad(
            "invalid_client", 7000218, missing("client_assertion' or 'client_secret"), 401
        ),
        Failure.BAD_SECRET: _aad("invalid_client", 7000215, BAD_SECRET, 401),
        Failure.MISSING_CODE: _aad("invalid_request", 900144, missing("code")),
        Failure.BAD_CODE: _aad(
            "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid."
        ),
        Failure.USED_CODE: _aad("invalid_grant", 54005, REDEEMED),
        Failure.REDIRECT_MISMATCH: _aad("invalid_client", 50011, REDIRECT_MISMATCH),
        Failure.BAD_VERIFIER: _aad("invalid_grant", 50148, PKCE_MISMATCH),  # missing, malformed or wrong
        Failure.MISSING_REFRESH: _aad("invalid_request", 900144, missing("refresh_token")),
        Failure.BAD_REFRESH: _aad("invalid_grant", 9002313, BAD_REFRESH),
    },
)
