"""The deployment file: system storage (:mod:`faaskeeper_local.storage.system`) and user storage
(:mod:`faaskeeper_local.storage.user`) in one SQLite database
(:mod:`faaskeeper_local.storage.database`, :mod:`faaskeeper_local.storage.schema`), with what
guards it (:mod:`faaskeeper_local.storage.sqlite_errors`, :mod:`faaskeeper_local.storage.wal_guard`,
:mod:`faaskeeper_local.storage.file_identity`)."""
