"""The GCP deployment on this machine: the Firestore and Pub/Sub emulators
(:mod:`faaskeeper_gcp.emulator.servers`), and the deployment's functions served where the emulated
Pub/Sub pushes them (``python -m faaskeeper_gcp.emulator CONFIG``)."""
