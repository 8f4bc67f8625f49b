"""The referrals service's handlers: one function per command, query and event. No nameko here.

``commands`` change referrals and open the unit of work themselves; ``queries`` only read;
``match_events`` and ``consent_events`` react to other services' events through the kit's inbox
(``uow.handle``). Every one reaches referrals through ``uow.referrals``.
"""
