"""Shared fixtures for the HTTP-level checks: they talk to one running `jarvis serve`."""
import os
import uuid

import pytest
import requests


@pytest.fixture(scope="session")
def base_url():
    return os.environ["JARVIS_URL"]


@pytest.fixture(scope="session")
def admin():
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {os.environ['JARVIS_ADMIN_KEY']}"
    return session


@pytest.fixture
def slug():
    return f"http-{uuid.uuid4().hex[:16]}"
