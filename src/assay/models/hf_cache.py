"""A key/value cache for the HF backend's decoding loop that appends in place.

transformers' DynamicLayer concatenates a step's keys/values onto the whole cache, copying all of it at every
layer of every step. The layers here write into spare room at the end of their tensors instead, so a step
copies one token per layer; the tensors are made again only when the room is used up or when the decoding
loop replaced them (rows leaving or joining the batch).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch

ROOM = 64  # tokens of spare room a decoding cache is given each time it is (re)made


@lru_cache(maxsize=1)
def _roomy_layer_class() -> Any:
    """A transformers DynamicLayer that appends a step's keys/values into spare room at the end of its tensors
    instead of concatenating: a decoding step then copies one token per layer, not the whole cache.
    When the room is used up, or the keys were replaced from outside (rows leaving or joining the batch), the
    tensors are made again with ROOM tokens to spare."""
    from transformers.cache_utils import DynamicLayer

    class RoomyLayer(DynamicLayer):  # type: ignore[misc]
        room: tuple[torch.Tensor, torch.Tensor] | None = None

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
                   **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
            old_keys, old_values = self.keys, self.values
            if not self.is_initialized or old_keys is None or old_values is None or old_keys.numel() == 0:
                self.room = None
                return super().update(key_states, value_states, *args, **kwargs)  # type: ignore[no-any-return]
            have, new = old_keys.shape[-2], key_states.shape[-2]
            if self.room is None or not _fits(self.room, old_keys, old_values, have + new):
                shape = (*old_keys.shape[:2], have + new + ROOM, old_keys.shape[-1])
                self.room = old_keys.new_empty(shape), old_values.new_empty(shape)
                self.room[0][:, :, :have], self.room[1][:, :, :have] = old_keys, old_values
            keys, values = self.room
            keys[:, :, have : have + new], values[:, :, have : have + new] = key_states, value_states
            self.keys, self.values = keys[:, :, : have + new], values[:, :, : have + new]
            return self.keys, self.values

    return RoomyLayer


def _fits(room: tuple[torch.Tensor, torch.Tensor], keys: torch.Tensor, values: torch.Tensor, length: int) -> bool:
    """Whether `keys`/`values` are still the start of the `room` tensors and `length` tokens fit there."""
    room_keys, room_values = room
    return (length <= room_keys.shape[-2] and keys.data_ptr() == room_keys.data_ptr()
            and values.data_ptr() == room_values.data_ptr() and keys.shape[:2] == room_keys.shape[:2]
            and keys.stride() == room_keys.stride() and values.stride() == room_values.stride())  # fmt: skip


def decoding_cache(config: Any) -> Any:
    """An empty cache for `config` whose layers all keep every key and append in place (_roomy_layer_class).

    Sliding-window layers too: the decoding loop drops and left-pads cache columns as rows leave and join, which
    a sliding layer's own bookkeeping (its count of tokens seen) would not follow; the attention mask that
    transformers builds from the cache's length applies the window instead."""
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    cache.layers = [_roomy_layer_class()() for _ in cache.layers]
    return cache
