"""The registry side of the federation.

Signing and verifying the signed mirror list (:mod:`registry.envelope`),
keys (:mod:`registry.keys`), the SSRF guard for fetches made on someone
else's word (:mod:`registry.guard`), the health-check policy
(:mod:`registry.health`) and atomic state files (:mod:`registry.state`).
The mirror imports the same modules to verify and relay the list.
"""
