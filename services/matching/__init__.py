"""Matching: the mentor registry and the proposals that pair referrals with peer mentors.

``services.matching.domain`` is the pure part (model, scoring, the vectorized mentor table and the
batch solver); it imports neither nameko nor a database. Around it:

- ``service``: the nameko class (RPC, event consumers, timers), thin; ``schemas``: its messages.
- ``handlers`` (RPC commands) and ``event_handlers`` (events, timers): one function each.
- ``matchmaker``: the steps they share (propose, waitlist, withdraw, release, close);
  ``rebalance``: the batch re-solve; ``registry_cache``: a replica's copy of the registry.
- ``adapters``: tables (``orm``), mentors (``mentors``), referrals and matches (``repository``).
"""
