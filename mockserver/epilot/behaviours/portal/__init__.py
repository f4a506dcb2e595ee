"""Customer Portal API behaviours: what a logged-in end customer and a portal admin see and change.

One behaviour set for the API, filled by the submodules (customer data, metering, configuration,
users and partners).
"""

from __future__ import annotations

from .. import BehaviourSet

behaviours = BehaviourSet("customer-portal")

from . import (  # noqa: E402,F401  (they register on `behaviours`)
    accounts,
    admin,
    config,
    customer,
    exports,
    links,
    metering,
    pages,
    proxy,
    sso,
    users,
    widgets,
)
