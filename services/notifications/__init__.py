"""Notifications: who hears what, in which language, when, and over which channel.

``domain`` is pure Python (settings, routing, quiet hours, retry policy, deliveries,
rendering); ``adapters`` talk to the outside world (the service's tables, signed
webhooks, SMTP, an SMS provider); ``handlers`` hold what the service does and
``service`` is the thin nameko class; ``signing`` is the public helper agencies use
to verify webhooks. Messages carry ids, statuses and links, never personal details.
"""
