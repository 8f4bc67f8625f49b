"""The notifications service's handlers: one function per request, event and timer tick.

``settings`` and ``delivery_log`` answer agencies; ``events`` routes every subscribed event to the
deliveries it gives rise to (inside the kit's inbox); ``escalation`` and ``dispatch`` run on the
timer. Every one reaches the tables through the unit of work's repositories (``uow.settings``,
``uow.deliveries``, ``uow.pending_proposals``, ``uow.handoffs``). No nameko here.
"""
