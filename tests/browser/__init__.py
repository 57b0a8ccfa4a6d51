"""Browser tests: the runbooks and the report in headless Chromium."""
