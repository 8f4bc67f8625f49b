"""The web console: server-rendered pages for the people who do the work, at ``/console/``.

It runs inside the gateway process and reaches data only through the gateway's own operations
(``console.views``), so every page is subject to the same role checks, object checks, validation
and ledgering as the API.
"""
