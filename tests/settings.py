"""Test settings: the real settings module, fed a test environment."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("COGNITO_USER_POOL_ID", "us-east-1_testpool")
os.environ.setdefault("COGNITO_CLIENT_ID", "testclientid")
os.environ.setdefault("COGNITO_CLIENT_SECRET", "test-client-secret-value")
os.environ.setdefault("COGNITO_READ_POLICY", "false")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
# Tests never reach the internet: those that check breached passwords start a stand-in.
os.environ.setdefault("PWNED_PASSWORDS_URL", "")
# No floor under /forgot/ unless a test asks for one (tests/test_timing.py does).
os.environ.setdefault("FORGOT_MIN_DURATION", "0")

from resetsite.settings import *  # noqa: F403
