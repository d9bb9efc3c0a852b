"""The Google Chat sandbox's fake world: two Workspace accounts and the spaces they belong to.

Ada's account sees more than 100 spaces, so even the API's default page size (100) needs a second
page: a console that ignores `nextPageToken` misses spaces. Everything is constant, so demos and tests
see the same ids on every run and in every worker process.
"""

from __future__ import annotations

from dataclasses import dataclass

CREATE_TIME = "2024-01-15T09:30:00.123456Z"
SPACE = "SPACE"
GROUP_CHAT = "GROUP_CHAT"
DIRECT_MESSAGE = "DIRECT_MESSAGE"
SPACE_TYPES = frozenset({SPACE, GROUP_CHAT, DIRECT_MESSAGE})


@dataclass(frozen=True)
class GoogleAccount:
    """A Google Workspace user who can sign in on the sandbox consent page."""

    sub: str  # the OpenID subject; also the Chat user id (`users/<sub>`)
    email: str
    name: str
    hosted_domain: str


@dataclass(frozen=True)
class ChatSpace:
    """A Chat space, group chat or direct message."""

    id: str  # the part after `spaces/`
    display_name: str  # empty for group chats and direct messages, as in the real API
    space_type: str
    members: frozenset[str]  # account subs
    description: str = ""

    @property
    def name(self) -> str:
        """The resource name, e.g. `spaces/AAQAsupport`."""
        return f"spaces/{self.id}"


ADA = GoogleAccount(
    "110000000000000000101", "ada@acme-support.example", "Ada Lovelace", "acme-support.example"
)
GRACE = GoogleAccount("110000000000000000202", "grace@globex.example", "Grace Hopper", "globex.example")
ACCOUNTS: tuple[GoogleAccount, ...] = (ADA, GRACE)

_ACME = frozenset({ADA.sub})
_GLOBEX = frozenset({GRACE.sub})
_BOTH = _ACME | _GLOBEX
GENERATED_ROOMS = 100

SPACES: tuple[ChatSpace, ...] = (
    ChatSpace("AAQAsupport", "Support", SPACE, _ACME, "Customer support team"),
    ChatSpace("AAQAtickets", "Tickets", SPACE, _ACME, "New and updated tickets"),
    ChatSpace("AAQAincidnt", "Incidents", SPACE, _ACME),
    ChatSpace("AAQApartner", "Partners — Acme & Globex", SPACE, _BOTH),
    ChatSpace("AAQAgrpchat", "", GROUP_CHAT, _ACME),
    ChatSpace("AAQAdirectm", "", DIRECT_MESSAGE, _ACME),
    *(
        ChatSpace(f"AAQAroom{n:03d}", f"Project room {n:03d}", SPACE, _ACME)
        for n in range(1, GENERATED_ROOMS + 1)
    ),
    ChatSpace("AAQAglbxops", "Globex Ops", SPACE, _GLOBEX),
    ChatSpace("AAQAglbxalr", "Globex Alerts", SPACE, _GLOBEX),
)


def account(sub: str | None) -> GoogleAccount | None:
    """The account with this subject, if any."""
    return next((a for a in ACCOUNTS if a.sub == sub), None)


def account_by_email(email: str | None) -> GoogleAccount | None:
    """The account a `login_hint` names (an email or a subject), if any."""
    return next((a for a in ACCOUNTS if email in (a.email, a.sub)), None)


def spaces_of(sub: str) -> tuple[ChatSpace, ...]:
    """The spaces an account is a member of, in listing order."""
    return tuple(s for s in SPACES if sub in s.members)


def space(space_id: str) -> ChatSpace | None:
    """The space with this id (the part after `spaces/`), if any."""
    return next((s for s in SPACES if s.id == space_id), None)
