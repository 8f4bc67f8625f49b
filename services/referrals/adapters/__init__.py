"""What the referrals service talks to: its tables and the consent service."""
