"""Distance functions of ``nn.functional``: the ops of `tapegrad.ops.distance` under
torch's ``F.`` names."""

from tapegrad.ops.distance import cosine_similarity, pairwise_distance, pdist

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]
