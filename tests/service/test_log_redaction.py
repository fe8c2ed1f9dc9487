"""Secrets are masked in the log lines of every module, not only of the loggers the filter was
added to: a logger's filter never sees what its child loggers pass up to it."""

from __future__ import annotations

import logging

from service.main import create_app


def test_tokens_are_masked_in_every_modules_log_lines(settings, caplog):
    create_app(settings)  # every start installs the masking (service.log_redaction)
    bearer = "cwt_" + "Zq7" * 11
    with caplog.at_level(logging.INFO):
        # what service.events logs when a webhook whose URL carries its token is down
        logging.getLogger("service.events").warning(
            "webhook %s: event %s for case %s not delivered after %s attempts (%s)",
            "https://hooks.example.org/civicwatch?token=hook-s3cret&x=1",
            "approved",
            "c1",
            4,
            "ConnectError",
        )
        logging.getLogger("service.jobs.inprocess").error("upload refused: Authorization: Bearer %s", bearer)
        logging.getLogger("httpx").info("HTTP Request: POST https://hooks.example.org/h?access_token=hook-s3cret")
    assert "hook-s3cret" not in caplog.text and bearer not in caplog.text
    assert "token=[redacted]&x=1" in caplog.text and "cwt_[redacted]" in caplog.text
