"""The HTTP gateway: authentication, authorization, validation, and HTTP ↔ RPC translation.

The modules here are pure (no nameko entrypoints): ``routes`` lists every route with its schemas,
``policy`` says who may call which, ``auth`` handles API keys, ``bodies`` reads request bodies
safely, ``schemas`` validate them, ``idempotency`` replays retried creations, ``problems`` renders
every error, and ``openapi`` describes the whole API.
"""
