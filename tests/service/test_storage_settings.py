"""S3 storage settings: an endpoint boto3 cannot use is a settings error at start, naming the
setting, not a 500 on every evidence request and a failed commit after each analysis."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.blobstore import evidence_store
from service.config import Settings


@pytest.mark.parametrize("endpoint", ["minio:9000", "not a url", "ftp://minio:9000", "http://", "http://minio:99999"])
def test_an_endpoint_that_is_not_an_http_url_is_a_settings_error(tmp_path, endpoint):
    with pytest.raises(ValidationError, match="s3_endpoint_url"):
        Settings(data_dir=tmp_path, storage="s3", s3_bucket="evidence", s3_endpoint_url=endpoint)


@pytest.mark.parametrize("endpoint", [None, "http://minio:9000", "https://s3.example.org", "http://[::1]:9000"])
def test_http_endpoints_pass_and_make_a_store(tmp_path, endpoint):
    settings = Settings(data_dir=tmp_path, storage="s3", s3_bucket="evidence", s3_endpoint_url=endpoint)
    assert evidence_store(settings).kind == "s3"
