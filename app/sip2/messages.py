"""SIP2 messages to responses: what one connection's session sees and is sent.

Choices where the standard leaves room (also listed in docs/sip2.md):
- A patron message (23, 63) before a successful login gets a well-formed "invalid"
  response: every privilege denied, BL N, CQ N, AF "Log in first", the request's own AA
  and AO echoed, nothing looked up and nothing audited. 99 before login answers with
  on-line status N; 35 answers N.
- Messages of SIP2 that netzone does not offer (checkout, checkin, holds, ...; N in the BX
  field of the ACS status) get their matching response saying no (ok 0, privileges
  denied) with a screen message, so no client waits for an answer that never comes.
- Extension fields: PC user group code, PA expiry date (YYYYMMDD), AF home library code
  (when the account asks for it), and each configured attribute field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.attributes.service import TypeInfo, is_authorized
from app.auth.policy import Actor
from app.db import Database
from app.network.models import Institution, Library
from app.settings import Settings
from app.sip2 import service
from app.sip2.models import SipAccount
from app.sip2.protocol import (
    CODECS,
    SUPPORTED_MESSAGES,
    Request,
    count,
    flag,
    format_response,
    sip_datetime,
)
from app.sip2.service import AoMode, SendAs
from app.sip2.verification import Verification, loan_items, verify_patron

logger = logging.getLogger("netzone.sip2")

PROTOCOL_VERSION = "2.00"
DEFAULT_LANGUAGE = "000"
NOT_LOGGED_IN = "Log in first (message 93)."
# Items listed in one 64 at most; a client asks for the next ones with BP and BQ.
ITEMS_PER_RESPONSE = 100
# Patron status of an unknown or unverifiable patron: charge, renew, recall, hold denied.
ALL_DENIED = "YYYY" + " " * 10


def _position(value: str | None, default: int) -> int:
    """A 1-based item position of BP or BQ; absent or not a number: the default."""
    if value is None or not value.strip().isdigit():
        return default
    return max(1, int(value.strip()))


@dataclass(eq=False)
class SipSession:
    """The state of one connection: its address, its login, and its last response."""

    address: str
    account: SipAccount | None = None
    institution: Institution | None = None
    library: Library | None = None
    failed_logins: int = 0
    last_response: bytes | None = None
    close_after_reply: bool = False

    @property
    def codec(self) -> str:
        return CODECS[self.account.encoding] if self.account is not None else "utf-8"

    @property
    def actor(self) -> Actor:
        """Who the audit trail names; also decides which attribute types are readable."""
        assert self.account is not None
        return Actor(
            kind="sip",
            name=f"sip2 {self.account.login_id}",
            institution_id=self.account.institution_id,
            library_id=self.account.library_id,
        )


def patron_status(verification: Verification) -> str:
    """The 14 patron status flags of SIP2, 'Y' or blank."""
    denied = verification.privileges_denied
    flags = [
        denied,  # charge privileges denied
        denied,  # renewal privileges denied
        denied,  # recall privileges denied
        denied,  # hold privileges denied
        verification.card_reported_lost,
        False,  # too many items charged (set below)
        False,  # too many items overdue (no overdue limit exists)
        False,  # too many renewals
        False,  # too many claims of items returned
        False,  # too many items lost
        False,  # excessive outstanding fines
        False,  # excessive outstanding fees
        False,  # recall overdue
        False,  # too many items billed
    ]
    return "".join("Y" if f else " " for f in flags)


class MessageHandler:
    """Answers the requests of every connection; each request uses its own DB session."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        # Logged-in connections (for the limit per SIP account).
        self.sessions: set[SipSession] = set()

    def now(self) -> str:
        return sip_datetime(datetime.now(self.zone))

    def respond(
        self,
        session: SipSession,
        request: Request,
        code: str,
        fixed: list[str],
        fields: list[tuple[str, str]],
    ) -> bytes:
        return format_response(
            code,
            fixed,
            fields,
            codec=session.codec,
            error_detection=request.error_detection,
            sequence=request.sequence,
        )

    async def handle(self, session: SipSession, request: Request) -> bytes | None:
        """The response to one request, or None when it is ignored."""
        if request.code == "97":
            return session.last_response
        if request.code == "93":
            response = await self.login(session, request)
        elif request.code == "99":
            response = self.status(session, request)
        elif request.code in ("23", "63"):
            response = await self.patron(session, request)
        elif request.code == "35":
            response = self.end_session(session, request)
        else:
            logger.info("sip2 %s: message %s is not offered", session.address, request.code)
            response = self.not_offered(session, request)
        session.last_response = response
        return response

    async def login(self, session: SipSession, request: Request) -> bytes:
        raw_login = (request.fields.get("CN") or [b""])[0]
        try:
            login_id = raw_login.decode("utf-8")
        except UnicodeDecodeError:
            login_id = raw_login.decode("cp850")
        async with self.database.session() as db:
            account = await service.account_by_login(db, login_id)
            codec = CODECS.get(account.encoding, "utf-8") if account is not None else "utf-8"
            secret = request.text("CO", codec) or ""
            account = await service.authenticate_account(
                session=db,
                settings=self.settings,
                login_id=login_id,
                secret=secret,
                address=session.address,
            )
            if account is None:
                session.account = session.institution = session.library = None
                self.sessions.discard(session)
                session.failed_logins += 1
                if session.failed_logins >= self.settings.sip2_max_failed_logins:
                    session.close_after_reply = True
                logger.info("sip2 %s: login %r refused", session.address, login_id)
                return self.respond(session, request, "94", ["0"], [])
            others = sum(
                1
                for other in self.sessions
                if other is not session
                and other.account is not None
                and other.account.id == account.id
            )
            if others >= self.settings.sip2_max_connections_per_account:
                logger.warning(
                    "sip2 %s: login %r refused: %d connections of this account are open",
                    session.address,
                    login_id,
                    others,
                )
                session.account = session.institution = session.library = None
                self.sessions.discard(session)
                return self.respond(session, request, "94", ["0"], [])
            session.account = account
            self.sessions.add(session)
            session.institution = await db.get(Institution, account.institution_id)
            session.library = (
                await db.get(Library, account.library_id)
                if account.library_id is not None
                else None
            )
        session.failed_logins = 0
        logger.info("sip2 %s: logged in as %r", session.address, login_id)
        return self.respond(session, request, "94", ["1"], [])

    def status(self, session: SipSession, request: Request) -> bytes:
        online = session.institution is not None
        fixed = [
            flag(online),  # on-line status
            "N",  # checkin ok
            "N",  # checkout ok
            "N",  # ACS renewal policy
            "N",  # status update ok
            "N",  # off-line ok
            f"{min(int(self.settings.sip2_read_timeout_seconds * 10), 999):03d}",  # timeout period
            "003",  # retries allowed
            self.now(),
            PROTOCOL_VERSION,
        ]
        fields: list[tuple[str, str]] = []
        if session.institution is not None:
            fields.append(("AO", session.institution.code))
            name = session.library.name if session.library else session.institution.name
            fields.append(("AM", name))
        else:
            fields.append(("AO", ""))
        fields.append(("BX", SUPPORTED_MESSAGES))
        if session.library is not None:
            fields.append(("AN", session.library.code))
        return self.respond(session, request, "98", fixed, fields)

    def end_session(self, session: SipSession, request: Request) -> bytes:
        codec = session.codec
        institution = (
            self._ao(session, None) if session.institution else request.text("AO", codec) or ""
        )
        fields = [("AO", institution), ("AA", request.text("AA", codec) or "")]
        ended = flag(session.institution is not None)
        return self.respond(session, request, "36", [ended, self.now()], fields)

    def _ao(self, session: SipSession, verification: Verification | None) -> str:
        assert session.account is not None
        assert session.institution is not None
        if (
            session.account.ao_mode == AoMode.HOME_LIBRARY.value
            and verification is not None
            and verification.home_library is not None
        ):
            return verification.home_library.code
        return session.institution.code

    async def patron(self, session: SipSession, request: Request) -> bytes:
        codec = session.codec
        language = request.fixed[:3] if request.fixed[:3].isdigit() else DEFAULT_LANGUAGE
        barcode = request.text("AA", codec) or ""
        if session.account is None or session.institution is None:
            return self._not_logged_in(session, request, language, barcode)
        async with self.database.session() as db:
            # Read the account again: a disabled account or a changed policy applies at once.
            account = await db.get(SipAccount, session.account.id)
            if account is None or not account.enabled:
                logger.info("sip2 %s: account disabled or deleted; logged out", session.address)
                session.account = session.institution = session.library = None
                self.sessions.discard(session)
                return self._not_logged_in(session, request, language, barcode)
            session.account = account
            actor = session.actor
            wanted = {f.attribute_type for f in service.attribute_fields(account)}

            def visible(info: TypeInfo) -> bool:
                return info.code in wanted and is_authorized(actor, info)

            verification = await verify_patron(
                session=db,
                settings=self.settings,
                actor=actor,
                institution=session.institution,
                barcode=barcode,
                pin=request.text("AD", codec),
                allow_empty_pin=account.allow_empty_pin,
                address=session.address,
                channel="SIP2",
                visible=visible,
            )
            items = await self._summary_items(db, request, verification)
        if not verification.pin.accepted:
            return self._unverified(session, request, language, verification)
        status = patron_status(verification)
        charged_limit = self.settings.sip2_charged_items_limit
        if verification.charged_items >= charged_limit:
            status = status[:5] + "Y" + status[6:]
        fixed = [status, language, self.now()]
        if request.code == "63":
            fixed += [
                count(0),  # hold items
                count(verification.overdue_items),
                count(verification.charged_items),
                count(0),  # fine items
                count(0),  # recall items
                count(0),  # unavailable holds
            ]
        fields: list[tuple[str, str]] = [
            ("AO", self._ao(session, verification)),
            ("AA", verification.barcode),
            ("AE", verification.display_name),
        ]
        if request.code == "63":
            fields += [
                ("BZ", count(self.settings.sip2_hold_items_limit)),
                ("CB", count(charged_limit)),
            ]
        fields += [
            ("BL", flag(verification.valid_patron)),
            ("CQ", flag(verification.valid_password)),
            ("BV", "0.00"),
        ]
        fields += items
        fields += self._extensions(account, verification)
        if account.home_library_screen_message and verification.home_library is not None:
            fields.append(("AF", verification.home_library.code))
        if verification.throttle_message is not None:
            fields.append(("AF", verification.throttle_message))
        code = "64" if request.code == "63" else "24"
        return self.respond(session, request, code, fixed, fields)

    async def _summary_items(
        self, db: AsyncSession, request: Request, verification: Verification
    ) -> list[tuple[str, str]]:
        """The item list the summary of a 63 asks for, within BP..BQ: charged items (AU)
        or overdue items (AT). Holds, fines, recalls and unavailable holds do not exist
        here: their lists are empty, as their counts say."""
        patron = verification.patron
        if request.code != "63" or patron is None or patron.id is None:
            return []
        if not verification.pin.accepted:
            return []
        summary = request.fixed[21:31]
        wanted = summary.find("Y")
        if wanted not in (1, 2):
            return []
        limit = ITEMS_PER_RESPONSE
        start = _position(request.text("BP", "ascii"), 1)
        end = min(_position(request.text("BQ", "ascii"), limit), start + limit - 1)
        barcodes = await loan_items(db, patron.id, overdue_only=wanted == 1, start=start, end=end)
        return [("AT" if wanted == 1 else "AU", b) for b in barcodes]

    def _extensions(self, account: SipAccount, verification: Verification) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        if verification.user_group is not None:
            fields.append(("PC", verification.user_group.code))
        if verification.expiry_date is not None:
            fields.append(("PA", verification.expiry_date.strftime("%Y%m%d")))
        by_code = {a.code: a for a in verification.attributes}
        for configured in service.attribute_fields(account):
            attribute = by_code.get(configured.attribute_type)
            if attribute is None:
                continue
            values = attribute.values if configured.send is SendAs.CODE else attribute.value_labels
            fields += [(configured.field_code, value) for value in values]
        return fields

    def not_offered(self, session: SipSession, request: Request) -> bytes:
        """A message of SIP2 2.00 netzone does not offer (circulation, fees, holds): the
        matching response saying no (ok 0, privileges denied), with a screen message, so
        the client never waits for an answer that does not come."""
        codec = session.codec
        now = self.now()
        ao = session.institution.code if session.institution else request.text("AO", codec) or ""
        patron = request.text("AA", codec) or ""
        item = request.text("AB", codec) or ""
        why = ("AF", f"netzone does not offer message {request.code}: verification only.")
        code, fixed, fields = {
            "01": ("24", [ALL_DENIED, DEFAULT_LANGUAGE, now], [("AO", ao), ("AA", patron), ("AE", ""), ("BL", "N"), why]),
            "09": ("10", ["0", "N", "U", "N", now], [("AO", ao), ("AB", item), ("AQ", ""), why]),
            "11": ("12", ["0", "N", "U", "N", now], [("AO", ao), ("AA", patron), ("AB", item), ("AJ", ""), ("AH", ""), why]),
            "15": ("16", ["0", "N", now], [("AO", ao), ("AA", patron), why]),
            "17": ("18", ["01", "00", "01", now], [("AB", item), ("AJ", ""), why]),
            "19": ("20", ["0", now], [("AB", item), why]),
            "25": ("26", [ALL_DENIED, DEFAULT_LANGUAGE, now], [("AO", ao), ("AA", patron), ("AE", ""), ("BL", "N"), why]),
            "29": ("30", ["0", "N", "U", "N", now], [("AO", ao), ("AA", patron), ("AB", item), ("AJ", ""), ("AH", ""), why]),
            "37": ("38", ["N", now], [("AO", ao), ("AA", patron), why]),
            "65": ("66", ["0", "0000", "0000", now], [("AO", ao), why]),
        }[request.code]  # fmt: skip
        return self.respond(session, request, code, fixed, fields)

    def _unverified(
        self, session: SipSession, request: Request, language: str, verification: Verification
    ) -> bytes:
        """Without a valid PIN (wrong, empty where one is needed, locked, throttled): only
        what SIP2 2.00 requires, with the valid-patron flags; the required fields present
        but empty, and nothing about the patron (no name, group, expiry, attributes)."""
        fixed = [ALL_DENIED, language, self.now()]
        if request.code == "63":
            fixed += [count(0)] * 6
        fields = [
            ("AO", self._ao(session, verification)),
            ("AA", verification.barcode),
            ("AE", ""),
            ("BL", flag(verification.valid_patron)),
            ("CQ", "N"),
        ]
        if verification.throttle_message is not None:
            fields.append(("AF", verification.throttle_message))
        code = "64" if request.code == "63" else "24"
        return self.respond(session, request, code, fixed, fields)

    def _not_logged_in(
        self, session: SipSession, request: Request, language: str, barcode: str
    ) -> bytes:
        fixed = [ALL_DENIED, language, self.now()]
        if request.code == "63":
            fixed += [count(0)] * 6
        fields = [
            ("AO", request.text("AO", session.codec) or ""),
            ("AA", barcode),
            ("AE", ""),
            ("BL", "N"),
            ("CQ", "N"),
            ("AF", NOT_LOGGED_IN),
        ]
        code = "64" if request.code == "63" else "24"
        return self.respond(session, request, code, fixed, fields)
