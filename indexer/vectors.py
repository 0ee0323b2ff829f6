"""Every stored vector in memory, small: one bit and one byte per dimension.

A vec0 KNN reads every vector from SQLite pages on each query (150 ms and more for
200,000 vectors of 384 floats), and the float32 matrix that answers in a few ms takes
1.5 KB a vector: 320 MB for such a repository.  So the vectors are held twice, small:

- the side of 1,024 random hyperplanes each lies on, after subtracting the mean vector
  (sentence embeddings share a large common direction): 128 bytes, whose Hamming distance
  estimates the angle between two vectors whatever their distribution (SimHash; the
  signs of the components themselves failed on sparse vectors: recall@10 0.03), compared
  by XOR and a bit count over the whole matrix, a few ms;
- each normalised vector scaled into int8 (one scale per vector): 384 bytes, whose dot
  product with the query is the cosine within about 1%.

A query takes the ``pool`` nearest by Hamming distance (``POOL_FACTOR`` times what it
asks for, at least ``MIN_POOL``), scores them with the int8 rows, and returns the best.
Together about a third of float32's memory (100 MB for 200,000 x 384); recall@10 against
exact search is measured by ``bench/scale.py`` and guarded by a test.

    held = QuantisedVectors.build(rows_of_ids_and_blobs, dimensions, version)
    held.nearest(query_blob, k=10)    # [(chunk id, cosine), ...] best first
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["MIN_POOL", "POOL_FACTOR", "QuantisedVectors"]

POOL_FACTOR = 40
# Random hyperplanes whose sides make a vector's bits (``_planes``).
SIGN_BITS = 1024
MIN_POOL = 5000
# Rows converted at a time while building, so building never holds the float32 matrix.
_BLOCK = 8192


def _popcount_table() -> Any:
    import numpy as np

    return np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class QuantisedVectors:
    def __init__(self, ids: Any, bits: Any, codes: Any, scales: Any, mean: Any, version: int):
        self.ids = ids  # int64 chunk ids
        self.bits = bits  # uint8, (n, SIGN_BITS / 8): sides of the hyperplanes of v - mean
        self.codes = codes  # int8, (n, d): round(127 * v / max |v|), v normalised
        self.scales = scales  # float32, (n,): max |v| / 127
        self.mean = mean  # float32, (d,)
        self.version = version

    @property
    def nbytes(self) -> int:
        return int(
            self.ids.nbytes
            + self.bits.nbytes
            + self.codes.nbytes
            + self.scales.nbytes
            + self.mean.nbytes
        )

    @classmethod
    def build(
        cls, rows: Iterable[tuple[int, bytes]], count: int, dimensions: int, version: int
    ) -> QuantisedVectors:
        """From at most ``count`` (id, float32 blob) rows; two passes over a block at a
        time: the mean first, then the codes."""
        import numpy as np

        ids = np.zeros(count, dtype=np.int64)
        codes = np.zeros((count, dimensions), dtype=np.int8)
        scales = np.zeros(count, dtype=np.float32)
        total = np.zeros(dimensions, dtype=np.float64)
        n = 0
        block_ids: list[int] = []
        block = bytearray()

        def flush() -> None:
            nonlocal n, block
            if not block_ids:
                return
            size = len(block_ids)
            vectors = np.frombuffer(bytes(block), dtype=np.float32).reshape(size, dimensions)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            unit = vectors / np.where(norms == 0, 1.0, norms)
            peak = np.abs(unit).max(axis=1)
            peak[peak == 0] = 1.0
            ids[n : n + size] = block_ids
            codes[n : n + size] = np.rint(unit * (127.0 / peak[:, None])).astype(np.int8)
            scales[n : n + size] = peak / 127.0
            total[:] += unit.sum(axis=0)
            n += size
            block_ids.clear()
            block = bytearray()

        for rowid, blob in rows:
            if n + len(block_ids) >= count:
                break
            if len(blob) != dimensions * 4:
                continue
            block_ids.append(int(rowid))
            block += blob
            if len(block_ids) >= _BLOCK:
                flush()
        flush()
        ids, codes, scales = ids[:n], codes[:n], scales[:n]
        mean = (total / max(n, 1)).astype(np.float32)
        planes = _planes(dimensions)
        bits = np.zeros((n, SIGN_BITS // 8), dtype=np.uint8)
        for start in range(0, n, _BLOCK):
            part = codes[start : start + _BLOCK].astype(np.float32)
            part *= scales[start : start + _BLOCK, None]
            bits[start : start + _BLOCK] = np.packbits((part - mean) @ planes > 0, axis=1)
        return cls(ids, bits, codes, scales, mean, version)

    def nearest(self, vector: bytes, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest: (chunk id, cosine estimated from the int8 codes)."""
        import numpy as np

        n = len(self.ids)
        if n == 0 or k < 1:
            return []
        query = np.frombuffer(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm else query
        pool = min(n, max(MIN_POOL, POOL_FACTOR * k))
        if pool < n:
            signs = np.packbits((query - self.mean) @ _planes(len(query)) > 0)
            distance = _hamming(self.bits, signs)
            chosen = np.argpartition(distance, pool - 1)[:pool]
        else:
            chosen = np.arange(n)
        scores = (self.codes[chosen].astype(np.float32) @ query) * self.scales[chosen]
        k = min(k, len(chosen))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[chosen[i]]), float(scores[i])) for i in top]


_TABLE: Any = None
_PLANES: dict[int, Any] = {}


def _planes(dimensions: int) -> Any:
    """``SIGN_BITS`` random hyperplanes (fixed seed): the side of each a vector lies on.
    Unlike the signs of the components themselves, this keeps the angle between any two
    vectors, sparse or dense, in the Hamming distance (SimHash)."""
    import numpy as np

    if dimensions not in _PLANES:
        rng = np.random.default_rng(19)
        _PLANES[dimensions] = rng.standard_normal((dimensions, SIGN_BITS)).astype(np.float32)
    return _PLANES[dimensions]


def _hamming(bits: Any, signs: Any) -> Any:
    """Bits differing between each row of ``bits`` and ``signs``."""
    import numpy as np

    differ = np.bitwise_xor(bits, signs)
    if hasattr(np, "bitwise_count"):  # numpy 2
        return np.bitwise_count(differ).sum(axis=1, dtype=np.int32)
    global _TABLE
    if _TABLE is None:
        _TABLE = _popcount_table()
    return _TABLE[differ].sum(axis=1, dtype=np.int32)
