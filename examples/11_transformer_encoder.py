"""Lesson 11: a small transformer encoder that finds the majority token of a sequence.

Each input is 9 tokens from a vocabulary of 4; the label is the token that occurs most
often. Token and position embeddings go through one ``nn.TransformerEncoderLayer``
(self-attention lets every position look at every other), then mean pooling and a
linear classifier.
"""

from __future__ import annotations

import numpy as np

import tapegrad as torch
from tapegrad import nn

VOCAB, LENGTH = 4, 9


class MajorityClassifier(nn.Module):
    def __init__(self, d_model: int = 32) -> None:
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, d_model)
        self.positions = nn.Embedding(LENGTH, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.head = nn.Linear(d_model, VOCAB)

    def forward(self, tokens):
        pos = torch.arange(tokens.shape[1])
        h = self.encoder(self.tokens(tokens) + self.positions(pos))
        return self.head(h.mean(dim=1))


def make_batch(n: int, rng: np.random.Generator) -> tuple:
    tokens = rng.integers(0, VOCAB, size=(n, LENGTH))
    counts = np.stack([(tokens == v).sum(axis=1) for v in range(VOCAB)], axis=1)
    labels = counts.argmax(axis=1)  # ties go to the smaller token
    return torch.tensor(tokens), torch.tensor(labels)


def main(fast: bool = False) -> dict:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = MajorityClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for step in range(150 if fast else 400):
        tokens, labels = make_batch(64, rng)
        loss = loss_fn(model(tokens), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"step {step}: loss {loss.item():.4f}")
    tokens, labels = make_batch(500, rng)
    model.eval()
    with torch.no_grad():
        accuracy = (model(tokens).argmax(dim=1) == labels).float().mean().item()
    print(f"accuracy on new sequences: {accuracy:.3f} (chance is about 0.3)")
    return {"losses": losses, "accuracy": accuracy}


if __name__ == "__main__":
    main()
