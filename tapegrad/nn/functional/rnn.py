"""nn.functional: rnn (being written)."""

__all__: list[str] = []
