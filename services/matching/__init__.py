"""Matching: the mentor registry and the proposals that pair referrals with peer mentors.

``services.matching.domain`` is the pure part (model, scoring, the vectorized mentor table and the
batch solver); it imports neither nameko nor a database.
"""
