"""Pure, typed stages: each takes plain values and returns a value or a Rejection; no I/O but the
injected schema source, so each is unit tested without a broker."""
