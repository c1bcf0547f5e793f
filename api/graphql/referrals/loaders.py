"""DataLoaders for referral relations, made fresh for each request (see Context)."""

from __future__ import annotations

import asyncio
from typing import Any

from strawberry.dataloader import DataLoader

from api.db import Database
from api.referrals import related
from api.referrals.message_back import message_backs
from api.referrals.protection import Protector


class ReferralLoaders:
    def __init__(self, db: Database) -> None:
        from api.graphql.context import many_loader, one_loader

        def one(fetch: Any) -> DataLoader[int, Any]:
            return one_loader(db, fetch)

        def many(fetch: Any) -> DataLoader[int, Any]:
            return many_loader(db, fetch)

        self.practice = one(related.practices)
        self.link_worker = one(related.link_workers)
        self.instrument = one(related.instruments)
        self.events = many(related.events)
        self.signposts = many(related.signposts)
        self.attendance = many(related.attendance)
        self.outcomes = many(related.outcomes)
        self.nhs_use = many(related.nhs_use)
        self.contact_attempts = many(related.contact_attempts)
        self.domains = many(related.domains)
        self.message_back = one(message_backs)
        self._data_keys: DataLoader[str, bytes | None] | None = None

    def data_keys(self, guard: Protector) -> DataLoader[str, bytes | None]:
        """Referrals' data keys from the key store, a page's in one read (None: destroyed)."""
        if self._data_keys is None:

            async def load(key_ids: list[str]) -> list[bytes | None]:
                found = await asyncio.to_thread(guard.keys.get_many, key_ids)
                return [found.get(key_id) for key_id in key_ids]

            self._data_keys = DataLoader(load_fn=load)
        return self._data_keys
