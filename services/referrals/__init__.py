"""Referrals: consented referrals from treatment to peer support, and their closed loop."""
