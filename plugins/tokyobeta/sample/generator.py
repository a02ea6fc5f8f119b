"""Deterministic simulation of the gghouse source database.

The world starts from a bootstrap state at EPOCH (the portfolio and residents that existed
before the simulated history) and then lives day by day up to `as_of`: apartments open, rooms
are leased, tenants register, pay, move in, give notice, move out, transfer, re-contract or
cancel, inquiries arrive. Every day draws from its own RNG seeded by (seed, day), and nothing
looks at `as_of` while simulating, so the state at D+1 is exactly the state at D plus one more
day of events, as consecutive production dumps are. The state is taken at the end of `as_of`
(JST; timestamps are naive JST like the source's DATETIMEs).

No database access here: rows come back as tuples in the column order of
include/sql/sample/gghouse_schema.sql.
"""

from __future__ import annotations

import math
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Callable, Iterable

from tokyobeta import contract
from tokyobeta.sample import filler
from tokyobeta.sample.people import make_person, new_phone, pick_weighted
from tokyobeta.sample.places import make_site

EPOCH = date(2023, 4, 1)
# First property of the operator; bootstrap contracts and openings go back to here.
HISTORY_START = date(2015, 4, 1)
# The old admin screen kept writing contract_type 3/6/9 until it was retired.
LEGACY_CONTRACT_CODES_UNTIL = date(2023, 10, 1)
# Before the move-out checklist was enforced, staff often left moveout_date empty.
MOVEOUT_DATE_ENFORCED_FROM = date(2024, 4, 1)

# Room status codes of the source (no seed needs them: the models read tenants/movings).
ROOM_VACANT = 1
ROOM_RESERVED = 2
ROOM_OCCUPIED = 3
ROOM_NOTICE = 4
ROOM_CLOSED = 9

INQUIRY_OPEN = 1
INQUIRY_RESPONDED = 2
INQUIRY_CLOSED = 3

# moving_agreement_type -> legacy contract_type (include/dbt/seeds/legacy_contract_type.csv).
# Agreement 1 had three extra legacy codes: 3 old form, 6 renewal, 9 re-contract.
_LEGACY_CODE = {1: 1, 2: 2, 3: 4, 4: 5, 5: 7}

# --- calibration (scale 1, as_of around 2026-02: ~131k contract rows, ~12k residents) ------
_BOOT_APARTMENTS = 900
_NEW_APARTMENTS_PER_DAY = 0.27
_MEAN_VACANCY_DAYS = 60
_INQUIRIES_PER_DAY = 46.0
_PROSPECTS_PER_DAY = 1.0
_PROFILE_EDITS_PER_DAY = 3.0
_RENT_REVISIONS_PER_DAY = 0.8
_CANCEL_SHARE = 0.06
_DUPLICATE_SHARE = 0.03
_TRANSFER_SHARE = 0.04

_AGREEMENT_MIX_NEW = ((1, 58), (2, 9), (3, 15), (4, 9), (5, 9))
# Residents at EPOCH skew to long contracts: short stays have already turned over.
_AGREEMENT_MIX_RESIDENT = ((1, 64), (2, 10), (3, 15), (4, 6), (5, 5))
_CHANNELS = (("web", 40), ("suumo", 15), ("phone", 12), ("line", 10), ("email", 8), ("agent", 6),
             ("instagram", 4), ("walk_in", 3), ("other", 2))
_INQUIRY_MESSAGES = (
    (None, 30), ("内見希望です。", 12), ("空室はありますか？", 10), ("来月から入居できますか", 6),
    ("Is the room available from next month?", 8), ("I want to see the room this weekend.", 4),
    ("法人契約は可能でしょうか。", 2), ("Phòng còn trống không?", 1), ("学生ですが契約できますか？", 3),
    ("初期費用について教えてください", 4), ("Can I pay by credit card?", 2),
)
# Japanese real-estate agencies mostly close on Wednesdays; weekends are busiest.
_WEEKDAY_FACTOR = (1.0, 0.9, 0.6, 1.0, 1.05, 1.35, 1.25)

CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "apartments": ("id", "name", "address", "postal_code", "prefecture", "municipality",
                   "nearest_station", "opened_on", "created_at", "updated_at"),
    "rooms": ("id", "apartment_id", "room_number", "floor", "room_type", "size_sqm", "rent",
              "status", "created_at", "updated_at"),
    "tenants": ("id", "status", "full_name", "full_name_kana", "nationality", "gender",
                "birth_date", "email", "phone", "created_at", "updated_at"),
    "movings": ("id", "tenant_id", "apartment_id", "room_id", "moving_agreement_type",
                "contract_type", "move_in_date", "moveout_date", "moveout_plans_date",
                "cancel_flag", "rent", "deposit", "created_at", "updated_at"),
    "inquiries": ("id", "tenant_id", "apartment_id", "channel", "inquiry_status", "message",
                  "inquired_at", "created_at", "updated_at"),
}


@dataclass(frozen=True)
class Table:
    """One table's rows in column order; `rows` can be iterated more than once."""

    name: str
    columns: tuple[str, ...]
    rows: Iterable[tuple]


# --- simulation objects ------------------------------------------------------------------

class _Apartment:
    __slots__ = ("id", "site", "opened_on", "created_at", "updated_at")

    def __init__(self, id_: int, site, opened_on: date, created_at: datetime) -> None:
        self.id, self.site, self.opened_on = id_, site, opened_on
        self.created_at = self.updated_at = created_at


class _Room:
    __slots__ = ("id", "apartment", "number", "floor", "room_type", "size", "rent", "status",
                 "created_at", "updated_at", "lease_due", "slot")

    def __init__(self, id_: int, apartment: _Apartment, number: str, floor: int, room_type: str,
                 size: Decimal, rent: int, created_at: datetime) -> None:
        self.id, self.apartment, self.number, self.floor = id_, apartment, number, floor
        self.room_type, self.size, self.rent = room_type, size, rent
        self.status = ROOM_VACANT
        self.created_at = self.updated_at = created_at
        self.lease_due: date | None = None
        self.slot = -1  # position in the vacant-room index, -1 when not vacant


class _Tenant:
    __slots__ = ("id", "status", "person", "phone", "created_at", "updated_at", "current")

    def __init__(self, id_: int, status: int, person, created_at: datetime) -> None:
        self.id, self.status, self.person, self.phone = id_, status, person, person.phone
        self.created_at = self.updated_at = created_at
        self.current: _Moving | None = None  # the live (not cancelled, not ended) contract


class _Moving:
    __slots__ = ("id", "tenant", "room", "agreement", "contract_type", "move_in_date",
                 "moveout_date", "moveout_plans_date", "cancel_flag", "rent", "deposit",
                 "created_at", "updated_at")

    def __init__(self, id_: int, tenant: _Tenant, room: _Room, agreement: int, contract_type: int,
                 move_in_date: date, rent: int, deposit: int | None, created_at: datetime) -> None:
        self.id, self.tenant, self.room = id_, tenant, room
        self.agreement, self.contract_type = agreement, contract_type
        self.move_in_date = move_in_date
        self.moveout_date: date | None = None
        self.moveout_plans_date: date | None = None
        self.cancel_flag = 0
        self.rent, self.deposit = rent, deposit
        self.created_at = self.updated_at = created_at


class _Inquiry:
    __slots__ = ("id", "tenant", "apartment", "channel", "status", "message", "inquired_at",
                 "created_at", "updated_at")

    def __init__(self, tenant: _Tenant | None, apartment: _Apartment | None, channel: str, status: int,
                 message: str | None, inquired_at: datetime, created_at: datetime) -> None:
        self.id = 0
        self.tenant, self.apartment, self.channel = tenant, apartment, channel
        self.status, self.message, self.inquired_at = status, message, inquired_at
        self.created_at = self.updated_at = created_at


class _VacantRooms:
    """Vacant rooms with O(1) add, remove and random pick (for transfers)."""

    def __init__(self) -> None:
        self._rooms: list[_Room] = []

    def add(self, room: _Room) -> None:
        if room.slot < 0:
            room.slot = len(self._rooms)
            self._rooms.append(room)

    def discard(self, room: _Room) -> None:
        if room.slot >= 0:
            last = self._rooms.pop()
            if last is not room:
                self._rooms[room.slot] = last
                last.slot = room.slot
            room.slot = -1

    def pick(self, rng: Random) -> _Room | None:
        return self._rooms[rng.randrange(len(self._rooms))] if self._rooms else None


# --- small helpers -----------------------------------------------------------------------

def _day_rng(seed: int, day: date) -> Random:
    # String seeds are hashed with SHA-512 by `random`, so this is stable across processes
    # and independent of PYTHONHASHSEED.
    return Random(f"gghouse:{seed}:{day.isoformat()}")


def _at(day: date, rng: Random, first_hour: int = 9, last_hour: int = 21) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(
        seconds=rng.randrange(first_hour * 3600, last_hour * 3600))


def _touch(obj, day: date, rng: Random) -> None:
    """Bump updated_at to a time on `day`, never moving it backwards."""
    stamp = _at(day, rng)
    if stamp <= obj.updated_at:
        day_end = datetime(day.year, day.month, day.day, 23, 59, 59)
        stamp = max(obj.updated_at, min(obj.updated_at + timedelta(seconds=rng.randint(30, 1800)), day_end))
    obj.updated_at = stamp


def _poisson(rng: Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def _contract_type(rng: Random, agreement: int, signed: date, renewal: bool) -> int:
    if agreement != 1 or signed >= LEGACY_CONTRACT_CODES_UNTIL:
        return _LEGACY_CODE[agreement]
    if renewal:
        return 9 if rng.random() < 0.5 else 6
    return 3 if rng.random() < 0.35 else 1


def _stay_days(rng: Random, agreement: int) -> int:
    """Days from move-in (or re-contract) to the tenant's move-out decision."""
    if agreement == 1:
        r = rng.random()
        if r < 0.2:
            return rng.randint(300, 350)  # leaves at the end of the first year
        if r < 0.3:
            return rng.randint(660, 700)
        return 30 + int(rng.expovariate(1 / 1000))
    if agreement == 2:
        return 90 + int(rng.expovariate(1 / 600))
    if agreement == 3:
        return 150 + int(rng.expovariate(1 / 500))
    if agreement == 4:
        return 20 + int(rng.expovariate(1 / 60))
    return 14 + int(rng.expovariate(1 / 40))


def _contract_rent(rng: Random, room_rent: int, agreement: int) -> int:
    rent = room_rent
    if agreement == 5:
        rent = round(room_rent * 1.15, -3)
    elif agreement == 4:
        rent = round(room_rent * 1.1, -3)
    if rng.random() < 0.1:
        rent -= rng.choice((3000, 5000))  # move-in campaign
    return int(rent)


def _deposit(rng: Random, agreement: int) -> int | None:
    if agreement in (4, 5):
        return 0
    return pick_weighted(rng, ((30000, 50), (0, 30), (50000, 10), (None, 10)))


def _missing_moveout_share(day: date) -> float:
    return 0.2 if day < MOVEOUT_DATE_ENFORCED_FROM else 0.03


# --- the world ---------------------------------------------------------------------------

class _World:
    def __init__(self, scale: float, seed: int) -> None:
        self.scale, self.seed = scale, seed
        self.apartments: list[_Apartment] = []
        self.rooms: list[_Room] = []
        self.tenants: list[_Tenant] = []
        self.movings: list[_Moving] = []
        self.inquiries: list[_Inquiry] = []
        self._agenda: dict[date, list[tuple[Callable[[Random, date, object], None], object]]] = {}
        self._vacant = _VacantRooms()
        self._prospects: list[_Tenant] = []
        self._former: list[_Tenant] = []
        self._recent_inquiries: dict[int, list[_Inquiry]] = {}
        self._site_names: dict[str, int] = {}

    # -- scheduling --
    def _schedule(self, day: date, handler: Callable[[Random, date, object], None], obj: object) -> None:
        self._agenda.setdefault(day, []).append((handler, obj))

    def _due_lease(self, room: _Room, day: date) -> None:
        # A room carries the day its next lease attempt is due; older scheduled attempts for
        # the same room become no-ops when they do not match it.
        room.lease_due = day
        self._schedule(day, self._on_lease, room)

    # -- entity creation --
    def _add_apartment(self, rng: Random, opened_on: date, created_at: datetime) -> _Apartment:
        apartment = _Apartment(len(self.apartments) + 1, make_site(rng, self._site_names), opened_on, created_at)
        self.apartments.append(apartment)
        size = pick_weighted(rng, (((5, 10), 62), ((11, 20), 30), ((21, 40), 8)))
        count = rng.randint(*size)
        per_floor = rng.randint(3, 8)
        style = pick_weighted(rng, (("numeric", 70), ("letter", 20), ("dash", 10)))
        if style == "letter" and count > 26:
            style = "numeric"
        for i in range(count):
            floor, index = 1 + i // per_floor, 1 + i % per_floor
            if style == "numeric":
                number = f"{floor}{index:02d}"
            elif style == "letter":
                number = chr(ord("A") + i)
            else:
                number = f"{floor}F-{index:02d}"
            room_type = pick_weighted(rng, (("private", 80), ("semi-private", 12), ("dormitory", 8)))
            size_sqm = Decimal(rng.randint(12, 24)) / 2
            factor = {"private": 1.0, "semi-private": 0.8, "dormitory": 0.6}[room_type]
            rent = int(round(apartment.site.base_rent * factor * (0.75 + float(size_sqm) / 32), -3))
            stamp = created_at + timedelta(seconds=20 * (i + 1))
            room = _Room(len(self.rooms) + 1, apartment, number, floor, room_type, size_sqm, rent, stamp)
            self.rooms.append(room)
        return apartment

    def _register_tenant(self, rng: Random, day: date, status: int, student: bool = False) -> _Tenant:
        created = _at(day, rng)
        tenant = _Tenant(len(self.tenants) + 1, status, make_person(rng, day, student), created)
        self.tenants.append(tenant)
        return tenant

    def _new_moving(self, rng: Random, day: date, tenant: _Tenant, room: _Room, agreement: int,
                    move_in: date, renewal: bool) -> _Moving:
        moving = _Moving(len(self.movings) + 1, tenant, room, agreement,
                         _contract_type(rng, agreement, day, renewal), move_in,
                         _contract_rent(rng, room.rent, agreement), _deposit(rng, agreement), _at(day, rng))
        self.movings.append(moving)
        return moving

    def _set_status(self, tenant: _Tenant, status: int, day: date, rng: Random) -> None:
        tenant.status = status
        _touch(tenant, day, rng)

    def _set_room(self, room: _Room, status: int, day: date, rng: Random) -> None:
        room.status = status
        _touch(room, day, rng)
        if status == ROOM_VACANT:
            self._vacant.add(room)
        else:
            self._vacant.discard(room)

    def _vacate(self, rng: Random, day: date, room: _Room) -> None:
        self._set_room(room, ROOM_VACANT, day, rng)
        self._due_lease(room, day + _days(1 + int(rng.expovariate(1 / _MEAN_VACANCY_DAYS))))

    # -- bootstrap --
    def bootstrap(self) -> None:
        """The portfolio and its residents as they stood when the simulated history starts."""
        rng = Random(f"gghouse:{self.seed}:bootstrap")
        span = (EPOCH - HISTORY_START).days
        count = max(1, round(_BOOT_APARTMENTS * self.scale))
        # sqrt: the operator grew, so later openings are more frequent.
        openings = sorted(HISTORY_START + _days(int(span * math.sqrt(rng.random()))) for _ in range(count))
        for opened in openings:
            first_room = len(self.rooms)
            self._add_apartment(rng, opened, _at(opened - _days(rng.randint(10, 60)), rng))
            for room in self.rooms[first_room:]:
                self._bootstrap_room(rng, room)
        self._renumber_since((0, 0, 0, 0, 0))

    def _bootstrap_room(self, rng: Random, room: _Room) -> None:
        r = rng.random()
        if r < 0.02:
            room.status = ROOM_CLOSED
        elif r < 0.87:
            self._bootstrap_resident(rng, room)
        elif r < 0.9:
            self._bootstrap_reservation(rng, room)
        else:
            self._vacant.add(room)
            self._due_lease(room, EPOCH + _days(rng.randint(0, 45)))

    def _bootstrap_resident(self, rng: Random, room: _Room) -> None:
        apartment = room.apartment
        opened = apartment.opened_on
        move_in = min(max(EPOCH - _days(1 + int(rng.expovariate(1 / 450))), opened), EPOCH - _days(1))
        first_in = move_in
        renewed = rng.random() < 0.18 and (move_in - opened).days > 120
        if renewed:
            first_in = move_in - _days(rng.randint(60, min(700, (move_in - opened).days)))
        if rng.random() < 0.2:
            self._bootstrap_former(rng, room, first_in)
        agreement = pick_weighted(rng, _AGREEMENT_MIX_RESIDENT)
        signed = max(first_in - _days(rng.randint(3, 45)), apartment.created_at.date())
        tenant = self._register_tenant(rng, signed, contract.STATUS_IN_RESIDENCE, student=agreement == 3)
        first = self._new_moving(rng, signed, tenant, room, agreement, first_in, renewal=False)
        if renewed:
            end = move_in - _days(1)
            first.moveout_plans_date = end
            if rng.random() >= _missing_moveout_share(end):
                first.moveout_date = end
            _touch(first, end, rng)
            agreement = 1 if agreement in (4, 5) else agreement
            current = self._new_moving(rng, move_in, tenant, room, agreement, move_in, renewal=True)
        else:
            current = first
        _touch(tenant, move_in, rng)
        tenant.current = current
        room.status = ROOM_OCCUPIED
        _touch(room, move_in, rng)
        # Residual stay: some time of a fresh stay has already passed.
        remaining = max(1, int(_stay_days(rng, agreement) * rng.random()))
        self._schedule(EPOCH + _days(remaining - 1), self._on_decide, current)

    def _bootstrap_former(self, rng: Random, room: _Room, next_in: date) -> None:
        """A tenant who lived in the room before and has moved out (status 9)."""
        out = next_in - _days(rng.randint(5, 90))
        move_in = out - _days(rng.randint(60, 900))
        signed = move_in - _days(rng.randint(3, 45))
        if signed < room.apartment.created_at.date():
            return
        agreement = pick_weighted(rng, _AGREEMENT_MIX_NEW)
        tenant = self._register_tenant(rng, signed, contract.STATUS_MOVED_OUT, student=agreement == 3)
        moving = self._new_moving(rng, signed, tenant, room, agreement, move_in, renewal=False)
        moving.moveout_plans_date = out
        if rng.random() >= _missing_moveout_share(out):
            moving.moveout_date = out
        _touch(moving, out, rng)
        _touch(tenant, out, rng)
        self._former.append(tenant)

    def _bootstrap_reservation(self, rng: Random, room: _Room) -> None:
        signed = EPOCH - _days(rng.randint(1, 25))
        if signed < room.apartment.created_at.date():
            signed = room.apartment.created_at.date()
        agreement = pick_weighted(rng, _AGREEMENT_MIX_NEW)
        tenant = self._register_tenant(rng, signed, contract.STATUS_INITIAL_RENT_PAID, student=agreement == 3)
        move_in = EPOCH + _days(rng.randint(0, 35))
        moving = self._new_moving(rng, signed, tenant, room, agreement, move_in, renewal=False)
        tenant.current = moving
        room.status = ROOM_RESERVED
        _touch(room, signed, rng)
        self._schedule(move_in, self._on_move_in, moving)

    def _sizes(self) -> tuple[int, int, int, int, int]:
        return (len(self.apartments), len(self.rooms), len(self.tenants), len(self.movings),
                len(self.inquiries))

    def _renumber_since(self, sizes: tuple[int, int, int, int, int]) -> None:
        """Ids are AUTO_INCREMENT in the source, so they follow creation time: entities are
        created in event order and renumbered in created_at order once their day is done."""
        lists = (self.apartments, self.rooms, self.tenants, self.movings, self.inquiries)
        for items, start in zip(lists, sizes):
            tail = sorted(items[start:], key=lambda item: item.created_at)
            items[start:] = tail
            for number, item in enumerate(tail, start + 1):
                item.id = number

    # -- one simulated day --
    def run_day(self, day: date) -> None:
        rng = _day_rng(self.seed, day)
        sizes = self._sizes()
        self._open_apartments(rng, day)
        for handler, obj in self._agenda.pop(day, ()):
            handler(rng, day, obj)
        self._new_prospects(rng, day)
        self._new_inquiries(rng, day)
        self._edit_profiles(rng, day)
        self._revise_rents(rng, day)
        self._renumber_since(sizes)

    def _open_apartments(self, rng: Random, day: date) -> None:
        for _ in range(_poisson(rng, _NEW_APARTMENTS_PER_DAY * self.scale)):
            opened = day + _days(rng.randint(14, 60))
            first_room = len(self.rooms)
            self._add_apartment(rng, opened, _at(day, rng))
            for room in self.rooms[first_room:]:
                self._vacant.add(room)
                # Pre-leasing starts up to a month before opening.
                self._due_lease(room, max(day + _days(1), opened - _days(rng.randint(0, 30))))

    def _on_lease(self, rng: Random, day: date, room: _Room) -> None:
        if room.status != ROOM_VACANT or room.lease_due != day:
            return
        if day.weekday() == 2 and rng.random() < 0.7:
            self._due_lease(room, day + _days(1))
            return
        agreement = pick_weighted(rng, _AGREEMENT_MIX_NEW)
        move_in = self._move_in_day(rng, day, room)
        lead = (move_in - day).days
        status = contract.STATUS_CONTRACT_SIGNED if lead >= 7 and rng.random() < 0.3 else contract.STATUS_INITIAL_RENT_PAID
        tenant = self._applicant(rng, day, agreement, status)
        if rng.random() < _DUPLICATE_SHARE:
            # Staff created a wrong row first and cancelled it within minutes.
            duplicate = self._new_moving(rng, day, tenant, room, agreement, move_in, renewal=False)
            duplicate.cancel_flag = 1
            _touch(duplicate, day, rng)
        moving = self._new_moving(rng, day, tenant, room, agreement, move_in, renewal=False)
        tenant.current = moving
        self._set_room(room, ROOM_RESERVED, day, rng)
        self._schedule(move_in, self._on_move_in, moving)
        if status == contract.STATUS_CONTRACT_SIGNED:
            self._schedule(day + _days(rng.randint(1, lead - 1)), self._on_paid, moving)
        if rng.random() < _CANCEL_SHARE:
            self._schedule(day + _days(rng.randint(1, lead - 1)), self._on_cancel, moving)
        self._link_inquiry(rng, day, room.apartment, tenant)

    def _move_in_day(self, rng: Random, day: date, room: _Room) -> date:
        move_in = day + _days(min(60, 3 + int(rng.expovariate(1 / 16))))
        if rng.random() < 0.3:
            first_of_next = _month_end(day + _days(3)) + _days(1)
            if (first_of_next - day).days <= 60:
                move_in = first_of_next  # move-ins cluster on the 1st of the month
        return max(move_in, room.apartment.opened_on)

    def _applicant(self, rng: Random, day: date, agreement: int, status: int) -> _Tenant:
        r = rng.random()
        if r < 0.01 and self._prospects:
            tenant = self._prospects.pop(rng.randrange(len(self._prospects)))
            self._set_status(tenant, status, day, rng)
            return tenant
        if r < 0.03 and self._former:
            tenant = self._former[rng.randrange(len(self._former))]
            if tenant.status == contract.STATUS_MOVED_OUT and tenant.current is None:
                self._set_status(tenant, status, day, rng)
                return tenant
        return self._register_tenant(rng, day, status, student=agreement == 3)

    def _on_paid(self, rng: Random, day: date, moving: _Moving) -> None:
        tenant = moving.tenant
        if tenant.current is moving and tenant.status == contract.STATUS_CONTRACT_SIGNED:
            self._set_status(tenant, contract.STATUS_INITIAL_RENT_PAID, day, rng)

    def _on_cancel(self, rng: Random, day: date, moving: _Moving) -> None:
        tenant = moving.tenant
        if tenant.current is not moving or day >= moving.move_in_date:
            return
        moving.cancel_flag = 1
        _touch(moving, day, rng)
        tenant.current = None
        self._set_status(tenant, contract.STATUS_CANCELLED, day, rng)
        self._vacate(rng, day, moving.room)

    def _on_move_in(self, rng: Random, day: date, moving: _Moving) -> None:
        if moving.tenant.current is not moving:
            return
        self._set_status(moving.tenant, contract.STATUS_IN_RESIDENCE, day, rng)
        self._set_room(moving.room, ROOM_OCCUPIED, day, rng)
        self._schedule(day + _days(_stay_days(rng, moving.agreement)), self._on_decide, moving)

    def _on_decide(self, rng: Random, day: date, moving: _Moving) -> None:
        tenant = moving.tenant
        if tenant.current is not moving or tenant.status != contract.STATUS_IN_RESIDENCE:
            return
        r = rng.random()
        recontract_share = 0.35 if moving.agreement in (4, 5) else 0.06
        if r < _TRANSFER_SHARE and self._transfer(rng, day, moving):
            return
        if r < _TRANSFER_SHARE + recontract_share:
            self._recontract(rng, day, moving)
        else:
            self._give_notice(rng, day, moving)

    def _transfer(self, rng: Random, day: date, moving: _Moving) -> bool:
        target = self._vacant.pick(rng)
        if target is None or target is moving.room or target.apartment.opened_on > day:
            return False
        moving.moveout_plans_date = moving.moveout_date = day
        _touch(moving, day, rng)
        self._vacate(rng, day, moving.room)
        successor = self._new_moving(rng, day, moving.tenant, target, moving.agreement, day, renewal=False)
        self._set_room(target, ROOM_OCCUPIED, day, rng)
        self._continue(rng, day, moving.tenant, successor)
        return True

    def _recontract(self, rng: Random, day: date, moving: _Moving) -> None:
        end = day - _days(1)
        moving.moveout_plans_date = end
        if rng.random() >= _missing_moveout_share(end):
            moving.moveout_date = end
        _touch(moving, day, rng)
        agreement = moving.agreement
        if agreement in (4, 5):
            agreement = pick_weighted(rng, ((1, 70), (3, 10), (agreement, 20)))
        successor = self._new_moving(rng, day, moving.tenant, moving.room, agreement, day, renewal=True)
        self._continue(rng, day, moving.tenant, successor)

    def _continue(self, rng: Random, day: date, tenant: _Tenant, successor: _Moving) -> None:
        tenant.current = successor
        _touch(tenant, day, rng)
        self._schedule(day + _days(_stay_days(rng, successor.agreement)), self._on_decide, successor)

    def _give_notice(self, rng: Random, day: date, moving: _Moving) -> None:
        if rng.random() < 0.5:
            plans = _month_end(day + _days(30))  # "until the end of next month"
        else:
            plans = day + _days(rng.randint(14, 45))
        moving.moveout_plans_date = plans
        _touch(moving, day, rng)
        self._set_status(moving.tenant, contract.STATUS_MOVEOUT_NOTICE, day, rng)
        self._set_room(moving.room, ROOM_NOTICE, day, rng)
        leave = plans if rng.random() < 0.85 else max(day + _days(1), plans - _days(rng.randint(1, 7)))
        self._schedule(leave, self._on_move_out, moving)

    def _on_move_out(self, rng: Random, day: date, moving: _Moving) -> None:
        tenant = moving.tenant
        if tenant.current is not moving:
            return
        # Staff skipped moveout_date mostly when the tenant left on the planned day anyway.
        if day < moving.moveout_plans_date or rng.random() >= _missing_moveout_share(day):
            moving.moveout_date = day
            _touch(moving, day, rng)
        tenant.current = None
        self._set_status(tenant, contract.STATUS_MOVED_OUT, day, rng)
        self._former.append(tenant)
        self._vacate(rng, day, moving.room)

    def _new_prospects(self, rng: Random, day: date) -> None:
        """People registered before they sign (status 1-3); most never go further."""
        lam = _PROSPECTS_PER_DAY * self.scale * _WEEKDAY_FACTOR[day.weekday()]
        for _ in range(_poisson(rng, lam)):
            status = pick_weighted(rng, ((contract.STATUS_INQUIRY, 5), (contract.STATUS_VIEWING, 3),
                                         (contract.STATUS_APPLICATION, 2)))
            tenant = self._register_tenant(rng, day, status)
            self._prospects.append(tenant)
            if rng.random() < 0.3:
                self._schedule(day + _days(rng.randint(1, 14)), self._on_prospect_step, tenant)

    def _on_prospect_step(self, rng: Random, day: date, tenant: _Tenant) -> None:
        if tenant.status in (contract.STATUS_INQUIRY, contract.STATUS_VIEWING):
            self._set_status(tenant, tenant.status + 1, day, rng)

    def _new_inquiries(self, rng: Random, day: date) -> None:
        lam = _INQUIRIES_PER_DAY * self.scale * _WEEKDAY_FACTOR[day.weekday()]
        for _ in range(_poisson(rng, lam)):
            apartment = None if rng.random() < 0.12 else self.apartments[rng.randrange(len(self.apartments))]
            # Rows arrive from the CRM import, hours to days after the inquiry itself.
            created = _at(day, rng, 6, 24)
            lag = rng.randrange(60, 3 * 3600) if rng.random() < 0.8 else rng.randrange(3 * 3600, 3 * 86400)
            inquiry = _Inquiry(
                self._resident_asking(rng), apartment, pick_weighted(rng, _CHANNELS),
                pick_weighted(rng, ((INQUIRY_OPEN, 2), (INQUIRY_RESPONDED, 5), (INQUIRY_CLOSED, 3))),
                pick_weighted(rng, _INQUIRY_MESSAGES), created - timedelta(seconds=lag), created)
            self.inquiries.append(inquiry)
            if apartment is not None:
                recent = self._recent_inquiries.setdefault(id(apartment), [])
                recent.append(inquiry)
                del recent[:-8]

    def _resident_asking(self, rng: Random) -> _Tenant | None:
        """A few inquiries come from current residents (about a transfer) and are linked."""
        if rng.random() >= 0.02:
            return None
        tenant = self.tenants[rng.randrange(len(self.tenants))]
        return tenant if tenant.status == contract.STATUS_IN_RESIDENCE else None

    def _link_inquiry(self, rng: Random, day: date, apartment: _Apartment, tenant: _Tenant) -> None:
        """Staff link the applicant's earlier inquiry to the new tenant record."""
        if rng.random() >= 0.45:
            return
        for inquiry in reversed(self._recent_inquiries.get(id(apartment), ())):
            if inquiry.tenant is None and (day - inquiry.created_at.date()).days <= 45:
                inquiry.tenant, inquiry.status = tenant, INQUIRY_CLOSED
                _touch(inquiry, day, rng)
                return

    def _edit_profiles(self, rng: Random, day: date) -> None:
        for _ in range(_poisson(rng, _PROFILE_EDITS_PER_DAY * self.scale)):
            tenant = self.tenants[rng.randrange(len(self.tenants))]
            tenant.phone = new_phone(rng)
            _touch(tenant, day, rng)

    def _revise_rents(self, rng: Random, day: date) -> None:
        for _ in range(_poisson(rng, _RENT_REVISIONS_PER_DAY * self.scale)):
            room = self.rooms[rng.randrange(len(self.rooms))]
            if room.status != ROOM_CLOSED:
                room.rent += rng.choice((-2000, -1000, 1000, 2000, 3000))
                _touch(room, day, rng)

    # -- export --
    def tables(self) -> dict[str, Table]:
        rows = {
            "apartments": [(a.id, a.site.name, a.site.address, a.site.postal_code, a.site.prefecture,
                            a.site.municipality, a.site.nearest_station, a.opened_on, a.created_at,
                            a.updated_at) for a in self.apartments],
            "rooms": [(r.id, r.apartment.id, r.number, r.floor, r.room_type, r.size, r.rent, r.status,
                       r.created_at, r.updated_at) for r in self.rooms],
            "tenants": [(t.id, t.status, t.person.full_name, t.person.full_name_kana, t.person.nationality,
                         t.person.gender, t.person.birth_date, t.person.email, t.phone, t.created_at,
                         t.updated_at) for t in self.tenants],
            "movings": [(m.id, m.tenant.id, m.room.apartment.id, m.room.id, m.agreement, m.contract_type,
                         m.move_in_date, m.moveout_date, m.moveout_plans_date, m.cancel_flag, m.rent,
                         m.deposit, m.created_at, m.updated_at) for m in self.movings],
            "inquiries": [(i.id, i.tenant.id if i.tenant else None, i.apartment.id if i.apartment else None,
                           i.channel, i.status, i.message, i.inquired_at, i.created_at, i.updated_at)
                          for i in self.inquiries],
        }
        return {name: Table(name, CONTRACT_COLUMNS[name], rows[name]) for name in CONTRACT_COLUMNS}


# --- public API --------------------------------------------------------------------------

def _check_inputs(as_of: date, scale: float) -> None:
    if as_of < EPOCH:
        raise ValueError(f"as_of {as_of} is before the simulation epoch {EPOCH}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")


def generate_contract_tables(as_of: date, scale: float = 1.0, seed: int = 42) -> dict[str, Table]:
    """The five contract tables at the end of `as_of`, as lists of row tuples."""
    _check_inputs(as_of, scale)
    world = _World(scale, seed)
    world.bootstrap()
    day = EPOCH
    while day <= as_of:
        world.run_day(day)
        day += _days(1)
    return world.tables()


def default_other_mb(scale: float) -> float:
    """Non-contract data so that it is ~3x the contract tables, as in the production dump."""
    return filler.DEFAULT_OTHER_MB_AT_SCALE_1 * scale


def generate_tables(as_of: date, scale: float = 1.0, seed: int = 42,
                    other_mb: float | None = None) -> dict[str, Table]:
    """Every table of the sample database: the contract tables, then the bulky other ones.

    Contract rows are materialized lists; the other tables' rows are produced lazily on each
    iteration so hundreds of MB never sit in memory.
    """
    tables = generate_contract_tables(as_of, scale, seed)
    budget = default_other_mb(scale) if other_mb is None else other_mb
    others = filler.other_tables(
        as_of=as_of, seed=seed, other_bytes=int(budget * 1_000_000),
        tenant_count=len(tables["tenants"].rows), moving_count=len(tables["movings"].rows),
        room_count=len(tables["rooms"].rows), history_start=HISTORY_START, epoch=EPOCH,
    )
    for name, (columns, rows) in others.items():
        tables[name] = Table(name, columns, rows)
    return tables
