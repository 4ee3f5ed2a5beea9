"""Helpers for tests that need real infrastructure (a private Docker engine, a loopback sshd).

``unavailable(reason)`` skips a test whose infrastructure is missing, except under CI
(``CI=true``), where a missing engine or sshd is a failure, not a silent skip.
"""

from __future__ import annotations

import os
from typing import NoReturn


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(reason: str) -> NoReturn:
    import pytest

    if under_ci():
        pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)
