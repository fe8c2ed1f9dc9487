"""Live cameras: recording streams in segments (detector.media.recorder), turning every finished
segment into an analysis job (``segments``), rolling-footage retention (``retention``), and the
cameras' health (``health``)."""
