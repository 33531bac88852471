"""loglane's stream processing: a Faust app (streams.app), its agents (streams.agents, discovered
by module) and the pure stages they wire (streams.stages: decode, validate, mask, build)."""
