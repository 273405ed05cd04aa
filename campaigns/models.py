"""Campaigns, attempts and verdicts: built on the station catalogue (see the test-engine issue)."""
