"""A torch.utils.data.Dataset over a token dataset made by `magvit tokenize` (docs/datasets.md)."""
import bisect

import torch
from torch.utils.data import Dataset

from .shards import FIELDS, clip_record, read_index, read_shard


class TokenDataset(Dataset):
    """Clips of a token dataset, by index: each a dict with `ids` (LongTensor (t, h, w)) and the clip's
    `source`, `clip_index`, `start_frame`, `frames`, `label` (-1 when unlabelled) and `fps`; the default
    collate stacks a batch's ids into (B, t, h, w) and its labels into a LongTensor.

    Shards are read on first use and their SHA-256 checked against dataset.json (verify=False skips
    it); the last `cached_shards` shards read stay in memory. `transform` is applied to each item.
    Attributes: `index` (dataset.json), `grid` (t, h, w), `codebook_size`, `classes` (names by label).
    """

    def __init__(self, folder, verify=True, transform=None, cached_shards=8):
        self.folder, self.verify, self.transform = folder, verify, transform
        self.index = read_index(folder)
        self.grid = tuple(self.index["grid"])
        self.codebook_size = self.index["codebook_size"]
        self.classes = list(self.index["classes"])
        self._starts, total = [], 0
        for shard in self.index["shards"]:
            self._starts.append(total)
            total += shard["clips"]
        self._length = total
        self._cache, self._cached_shards = {}, max(1, cached_shards)

    def __len__(self):
        return self._length

    def _shard(self, s):
        if s not in self._cache:
            if len(self._cache) >= self._cached_shards:
                self._cache.pop(next(iter(self._cache)))
            self._cache[s] = read_shard(self.folder, self.index["shards"][s], self.verify)
        return self._cache[s]

    def __getitem__(self, i):
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError(f"clip {i} of a dataset of {self._length}")
        s = bisect.bisect_right(self._starts, i) - 1
        tensors, sources = self._shard(s)
        record = clip_record(tensors, sources, i - self._starts[s])
        item = {"ids": torch.from_numpy(record["ids"].astype("int64"))}
        item.update((k, record[k]) for k in FIELDS)
        return self.transform(item) if self.transform else item
