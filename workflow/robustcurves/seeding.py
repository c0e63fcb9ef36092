"""Every random choice derives its seed from the config's seed plus where it is used."""

import hashlib


def derive(seed: int, *keys) -> int:
    """A stable 31-bit seed from the base seed and any keys (dataset, regime, fold, epoch, purpose)."""
    text = "/".join(str(k) for k in (seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
