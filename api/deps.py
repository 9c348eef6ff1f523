"""Access to the composition root from inside a request."""

from __future__ import annotations

from typing import cast

from flask import current_app

from bootstrap import Services


def services() -> Services:
    return cast(Services, current_app.extensions["hireflow"])
