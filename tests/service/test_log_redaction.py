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


def test_a_password_in_any_logged_url_is_masked(settings, caplog):
    """A webhook receiver (or broker) behind HTTP basic authentication has its password in the
    URL; each failed delivery logged it as given, into logs more people read than the settings.
    Every module's log lines mask a URL's password as the camera stream URLs' already were."""
    create_app(settings)
    with caplog.at_level(logging.INFO):
        logging.getLogger("service.events").warning(
            "webhook %s refused event %s: HTTP %s (not retried)",
            "https://civic:hook-pass-9@hooks.example.org/civicwatch", "e1", 403)
        logging.getLogger("service.events").exception("webhook delivery to https://civic:hook-pass-9@h.example/x failed")
    assert "hook-pass-9" not in caplog.text, caplog.text
    assert "https://civic:***@hooks.example.org/civicwatch" in caplog.text


def test_a_password_with_a_quote_in_a_logged_url_is_masked(settings, caplog):
    """``'`` is a legal URL character; the mask stopped at it and logged the password whole."""
    create_app(settings)
    with caplog.at_level(logging.INFO):
        logging.getLogger("service.events").warning("webhook %s refused", "https://civic:it's-9@hooks.example.org/x")
        logging.getLogger("service.events").warning("broker amqp://cw:p\"q@mq.example:5672// unreachable")
    assert "it's-9" not in caplog.text and 'p"q' not in caplog.text, caplog.text
    assert "https://civic:***@hooks.example.org/x" in caplog.text and "amqp://cw:***@mq.example" in caplog.text
