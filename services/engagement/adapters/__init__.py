"""Tables, repositories, and the outside world (referrals, the SMS provider) of the engagement service."""
