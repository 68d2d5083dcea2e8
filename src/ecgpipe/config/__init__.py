"""The configuration: the typed schema of ``params.yaml`` (:mod:`.schema`), reading it with one
line per error (:mod:`.parse`), and composing it from ``conf/`` with Hydra (:mod:`.compose`)."""
