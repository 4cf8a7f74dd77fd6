"""Running the service: settings, metrics, logs, keys, reloads, process lifecycle. Imports core only."""
