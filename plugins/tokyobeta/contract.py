"""The source contract: the gghouse tables the pipeline reads and the columns it relies on.

DESIGN.md section 2. The source may add columns; it may not drop or retype these. Anything
not named here is never executed from a dump.
"""

from __future__ import annotations

from typing import Mapping

# Column -> type family. Families are coarse on purpose: the source may widen an INT to a
# BIGINT or a VARCHAR(64) to a VARCHAR(255) without breaking a model, but a DATE that became
# a VARCHAR would.
INTEGER = "integer"
TEXT = "text"
DATE = "date"
DATETIME = "datetime"
DECIMAL = "decimal"

CONTRACT_TABLES: Mapping[str, Mapping[str, str]] = {
    "tenants": {
        "id": INTEGER,
        "status": INTEGER,
        "full_name": TEXT,
        "nationality": TEXT,
        "gender": INTEGER,
        "birth_date": DATE,
        "email": TEXT,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
    "movings": {
        "id": INTEGER,
        "tenant_id": INTEGER,
        "apartment_id": INTEGER,
        "room_id": INTEGER,
        "moving_agreement_type": INTEGER,
        "contract_type": INTEGER,
        "move_in_date": DATE,
        "moveout_date": DATE,
        "moveout_plans_date": DATE,
        "cancel_flag": INTEGER,
        "rent": INTEGER,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
    "rooms": {
        "id": INTEGER,
        "apartment_id": INTEGER,
        "room_number": TEXT,
        "rent": INTEGER,
        "status": INTEGER,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
    "apartments": {
        "id": INTEGER,
        "name": TEXT,
        "address": TEXT,
        "prefecture": TEXT,
        "municipality": TEXT,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
    "inquiries": {
        "id": INTEGER,
        "tenant_id": INTEGER,
        "apartment_id": INTEGER,
        "channel": TEXT,
        "inquired_at": DATETIME,
        "created_at": DATETIME,
        "updated_at": DATETIME,
    },
}

TABLE_NAMES: tuple[str, ...] = tuple(CONTRACT_TABLES)

# inquiries is known to go stale upstream; it must not make a fresh dump look stale.
UPSTREAM_RECENCY_EXCLUDED: frozenset[str] = frozenset({"inquiries"})

# Tenant status codes (DESIGN section 2). The dbt seed include/dbt/seeds/tenant_status.csv is
# the place labels live; these names exist so Python code (sample generator, tests) does not
# scatter magic numbers.
STATUS_INQUIRY = 1
STATUS_VIEWING = 2
STATUS_APPLICATION = 3
STATUS_CONTRACT_SIGNED = 4
STATUS_INITIAL_RENT_PAID = 5
STATUS_IN_RESIDENCE = 6
STATUS_MOVEOUT_NOTICE = 7
STATUS_CANCELLED = 8
STATUS_MOVED_OUT = 9
