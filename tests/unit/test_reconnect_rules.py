"""What a reinstall over an existing row keeps, when it must be confirmed, and which old token is revoked."""

from __future__ import annotations

import uuid

import pytest

from tms_console.domain.values import Installation
from tms_console.persistence.models import ProjectIntegration
from tms_console.providers.registry import PROVIDERS, TELEGRAM
from tms_console.services.credentials import OtherAccount, Previous, _previous, _revokes


def stored(meta: dict) -> ProjectIntegration:
    return ProjectIntegration(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        integration_type="telegram",
        meta=meta,
    )


OLD = {"bot_id": "71", "account_name": "@old_bot", "target_id": "-100", "target_name": "Room", "chats": [1]}


def test_the_same_account_keeps_what_was_picked_unless_the_reinstall_brings_its_own() -> None:
    install = Installation(
        meta={"bot_id": "71", "account_name": "@old_bot", "chats": [], "target_id": "-200"}
    )
    previous = _previous(TELEGRAM, (stored(OLD), None), install, None)
    assert previous == Previous(None, same_account=True)
    assert install.meta["chats"] == [1] and install.meta["target_id"] == "-200"
    assert install.meta["target_name"] == "Room"


def test_another_account_is_refused_naming_both_accounts_until_the_row_is_confirmed() -> None:
    row = stored(OLD)
    install = Installation(meta={"bot_id": "72", "account_name": "@new_bot", "chats": []})
    with pytest.raises(OtherAccount) as refused:
        _previous(TELEGRAM, (row, None), install, None)
    assert (refused.value.row_id, refused.value.expected, refused.value.found) == (
        row.id,
        "@old_bot",
        "@new_bot",
    )
    with pytest.raises(OtherAccount):
        _previous(TELEGRAM, (row, None), install, uuid.uuid4())  # confirmed for another row
    assert _previous(TELEGRAM, (row, None), install, row.id) == Previous(None, same_account=False)
    assert "target_id" not in install.meta and install.meta["chats"] == []


def test_a_row_installed_before_accounts_were_recorded_is_not_guarded() -> None:
    install = Installation(meta={"bot_id": "72"})
    assert _previous(TELEGRAM, (stored({"account_name": "@old_bot"}), None), install, None) is not None
    assert _previous(TELEGRAM, None, install, None) is None  # a first install


def test_the_old_token_is_revoked_unless_it_is_the_new_one_or_that_would_reach_the_new_install() -> None:
    slack = PROVIDERS["slack"]
    assert _revokes(slack, Previous({"access_token": "old"}, True), {"access_token": "new"})
    assert not _revokes(slack, Previous({"access_token": "same"}, True), {"access_token": "same"})
    assert not _revokes(slack, Previous(None, False), {"access_token": "new"})
    assert not _revokes(TELEGRAM, Previous({"bot_token": "a"}, True), {"bot_token": "b"})
    assert _revokes(TELEGRAM, Previous({"bot_token": "a"}, False), {"bot_token": "b"})


def test_every_account_key_is_a_field_the_install_stores() -> None:
    """The key names meta the install writes (spec data, or a hook: Teams, Google, Telegram, WhatsApp)."""
    written_by_hooks = {
        "msteams": "tenant_id",
        "google_chat": "account_id",
        "telegram": "bot_id",
        "whatsapp": "waba_id",
    }
    for spec in PROVIDERS.values():
        if spec.account_key:
            assert spec.account_key in spec.meta_fields or written_by_hooks.get(spec.key) == spec.account_key
