"""The WhatsApp sandbox's fake world: two Meta businesses, their WABAs and phone numbers.

Constant, so that demos, screenshots and tests see the same ids in every run and worker process.
Acme has two WABAs so that tests can prove a token only reaches the WABA it was granted for.
"""

from __future__ import annotations

from dataclasses import dataclass

# The Facebook Login for Business configuration the sandbox knows; the console sends it as config_id.
CONFIG_ID = "1900000000000001"
# Permissions of that configuration (PROVIDERS.md §6.2; names recalled, see §0).
CONFIG_SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging", "business_management")
# The business integration system user that Embedded Signup creates for the app.
SYSTEM_USER_ID = "1990000000000001"


@dataclass(frozen=True)
class PhoneNumber:
    """A WhatsApp business phone number (Graph node `WhatsAppBusinessPhoneNumber`)."""

    id: str
    display_phone_number: str
    verified_name: str
    quality_rating: str = "GREEN"
    code_verification_status: str = "VERIFIED"

    def node(self) -> dict[str, object]:
        """All fields the sandbox serves for this node."""
        return {
            "verified_name": self.verified_name,
            "code_verification_status": self.code_verification_status,
            "display_phone_number": self.display_phone_number,
            "quality_rating": self.quality_rating,
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "id": self.id,
        }


@dataclass(frozen=True)
class Waba:
    """A WhatsApp Business Account and its numbers."""

    id: str
    name: str
    phones: tuple[PhoneNumber, ...]

    def node(self) -> dict[str, object]:
        """All fields the sandbox serves for this node."""
        return {
            "id": self.id,
            "name": self.name,
            "timezone_id": "1",
            "message_template_namespace": f"sbx_{self.id[-6:]}_ns",
        }


@dataclass(frozen=True)
class Business:
    """A Meta business portfolio the sandbox user administers."""

    id: str
    name: str
    wabas: tuple[Waba, ...]


BUSINESSES: tuple[Business, ...] = (
    Business(
        id="1010000000000001",
        name="Acme Support Ltd",
        wabas=(
            Waba(
                "1020000000000011",
                "Acme Support",
                (
                    PhoneNumber("1030000000000111", "+1 555-010-0001", "Acme Support"),
                    PhoneNumber("1030000000000112", "+1 555-010-0002", "Acme Billing", "YELLOW"),
                ),
            ),
            Waba(
                "1020000000000012",
                "Acme Marketing",
                (PhoneNumber("1030000000000121", "+1 555-010-0003", "Acme Deals"),),
            ),
        ),
    ),
    Business(
        id="1010000000000002",
        name="Globex Corporation",
        wabas=(
            Waba(
                "1020000000000021",
                "Globex Ops",
                (PhoneNumber("1030000000000211", "+44 7700 900123", "Globex Ops Desk"),),
            ),
        ),
    ),
)


def business(business_id: str | None) -> Business | None:
    """The business with this id, if any."""
    return next((b for b in BUSINESSES if b.id == business_id), None)


def waba(waba_id: str | None) -> Waba | None:
    """The WABA with this id, in any business."""
    return next((w for b in BUSINESSES for w in b.wabas if w.id == waba_id), None)


def phone(phone_id: str | None) -> tuple[Waba, PhoneNumber] | None:
    """The phone number with this id and the WABA that owns it."""
    return next(((w, p) for b in BUSINESSES for w in b.wabas for p in w.phones if p.id == phone_id), None)
