"""Faust agents, one module each, found by the app's autodiscovery. Agents only wire stages."""
