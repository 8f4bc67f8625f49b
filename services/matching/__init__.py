"""Matching: the mentor registry and the proposals that pair referrals with peer mentors.

``services.matching.domain`` is the pure part: the ``Match`` aggregate (its transitions and the
events they record), matching's view of a ``Referral``, the commands, and the model, scoring,
vectorized mentor table and batch solver; it imports neither nameko nor a database. Around it:

- ``service``: the nameko class (RPC, event consumers, timers), thin; ``schemas``: its messages.
- ``handlers``: one function per command, query and event (``mentors``, ``matches``,
  ``reactions``, ``expiry``, ``rebalance``), made of the ``matchmaker``'s shared steps
  (propose, waitlist, withdraw, release, close).
- ``adapters``: tables (``orm``), the repositories each unit of work carries (``referrals``,
  ``matches``, ``mentors``) and ``registry_cache``, a replica's copy of the mentor registry.
"""
