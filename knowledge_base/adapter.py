"""A linear map of question embeddings toward the records they ask about, learned per catalogue.

e5-small embeds a citizen's question ("làm lại giấy tờ nhà bị mất") far from the record's own words
("Cấp lại Giấy chứng nhận quyền sử dụng đất ... do bị mất"). A matrix W, started at the identity and
kept near it, is trained so that the normalized W·q of each question generated from the catalogue
(knowledge_base.questions) is closest to its own record's vector among all records (softmax cross-entropy
over the whole catalogue). The record vectors stay as they are; only the question side moves, so a search
costs one 384×384 product more.

The ranker must not learn from similarities the map was trained on: they are better than they will be on
a real question, and a ranker trusting them answered "chứng thực" alone with one of the seed catalogue's
four chứng thực procedures. Training therefore fits two maps, each on the questions of half of the records,
and gives each question the similarity from the map that saw no question of its record; search uses the
average of the two maps.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

ADAPTER_FILE = "adapter.npy"
# Training: chosen on the dev, chat and citizen sets (dense-only recall), never on a check set.
EPOCHS = 60
LEARNING_RATE = 3e-3
TEMPERATURE = 0.03
IDENTITY_PULL = 0.003  # weight of ||W - I||^2: keeps the map close to the embedding it adapts
BATCH = 512


def train_adapter(questions: np.ndarray, targets: np.ndarray, records: np.ndarray, seed: int) -> np.ndarray:
    """W (d×d, float32) such that normalize(questions @ W) is near records[targets]."""
    import torch

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    dim = questions.shape[1]
    identity = torch.eye(dim)
    weights = torch.nn.Parameter(identity.clone())
    optimizer = torch.optim.Adam([weights], lr=LEARNING_RATE)
    q = torch.from_numpy(np.ascontiguousarray(questions, dtype=np.float32))
    y = torch.from_numpy(np.asarray(targets, dtype=np.int64))
    r = torch.from_numpy(np.ascontiguousarray(records, dtype=np.float32))
    for _ in range(EPOCHS):
        order = torch.randperm(len(q), generator=generator)
        for start in range(0, len(q), BATCH):
            batch = order[start:start + BATCH]
            adapted = torch.nn.functional.normalize(q[batch] @ weights, dim=1)
            loss = torch.nn.functional.cross_entropy(adapted @ r.T / TEMPERATURE, y[batch])
            loss = loss + IDENTITY_PULL * ((weights - identity) ** 2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return weights.detach().numpy().astype(np.float32)


def adapt(weights: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Unit rows of vectors @ weights (one vector or a matrix of them)."""
    adapted = np.asarray(vectors, dtype=np.float32) @ weights
    norms = np.linalg.norm(adapted, axis=-1, keepdims=True)
    return adapted / np.maximum(norms, 1e-12)


def save_adapter(weights: np.ndarray, directory: Path) -> None:
    np.save(Path(directory) / ADAPTER_FILE, weights.astype(np.float32))


def load_adapter(directory: Path) -> np.ndarray | None:
    path = Path(directory) / ADAPTER_FILE
    return np.load(path) if path.exists() else None
