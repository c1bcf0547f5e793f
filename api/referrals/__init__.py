"""Referrals: a GP practice refers a person to its named link worker, who contacts, assesses,
plans and signposts; the status and (with consent) outcomes go back to the practice.

Where things are: ``models.py`` the tables; ``intake.py`` creating a referral (idempotent);
``lifecycle.py`` status changes (the one place a referral's status is changed); ``care.py``
assessment, signposting and attendance; ``reading.py`` what each caller may read;
``message_back.py`` what goes back to the GP; ``nudge.py``, ``purge.py``, ``webhooks.py``;
``protection.py`` encryption of personal data; ``demo.py`` the synthetic demo referrals.
"""
